#include "transport/ssh/ssh_shell.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <libssh/libssh.h>

#include <chrono>
#include <mutex>

namespace nc::ssh {

namespace {

Error Fail(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

void InitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { ssh_init(); });
}

std::string Tail(const std::string& s, size_t n = 160) {
  std::string t = s.size() > n ? "..." + s.substr(s.size() - n) : s;
  for (auto& c : t)
    if (c == '\n') c = '|';
  return t;
}

}  // namespace

std::string NormalizeTerminalText(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '\x1b') {
      if (i + 1 < raw.size() && raw[i + 1] == '[') {  // CSI: parameters, then a final byte @..~
        size_t j = i + 2;
        while (j < raw.size() && !(raw[j] >= 0x40 && raw[j] <= 0x7e)) ++j;
        i = j;
      } else if (i + 1 < raw.size() && raw[i + 1] == ']') {  // OSC: until BEL or ESC backslash
        size_t j = i + 2;
        while (j < raw.size() && raw[j] != '\a' &&
               !(raw[j] == '\x1b' && j + 1 < raw.size() && raw[j + 1] == '\\'))
          ++j;
        i = (j < raw.size() && raw[j] == '\x1b') ? j + 1 : j;
      } else {
        ++i;  // a two-byte escape
      }
      continue;
    }
    if (c == '\r') continue;  // \r\n and \r\r\n become \n; a lone \r only moves the cursor
    if (c == '\b') {
      if (!out.empty() && out.back() != '\n') out.pop_back();
      continue;
    }
    if (c == '\0' || c == '\a') continue;
    out.push_back(c);
  }
  return out;
}

struct Shell::Impl {
  ssh_session session = nullptr;
  ssh_channel channel = nullptr;
  std::string raw;  // everything received since the last command was sent
  ~Impl() {
    if (channel) {
      ssh_channel_close(channel);
      ssh_channel_free(channel);
    }
    if (session) {
      ssh_disconnect(session);
      ssh_free(session);
    }
  }
};

Shell::~Shell() = default;

bool Shell::Alive() const {
  return !broken_ && impl_ && impl_->channel && ssh_channel_is_open(impl_->channel) &&
         !ssh_channel_is_eof(impl_->channel);
}

Result<std::unique_ptr<Shell>> Shell::Open(const ConnectOptions& o,
                                           const TerminalProfile& profile) {
  InitOnce();
  std::unique_ptr<Shell> sh(new Shell());
  sh->impl_ = std::make_unique<Impl>();
  sh->profile_ = profile;
  sh->where_ = o.port == 22 ? o.host : "[" + o.host + "]:" + std::to_string(o.port);
  if (auto st = sh->Connect(o); !st) return tl::unexpected(st.error());
  if (auto st = sh->CheckHostKey(o); !st) return tl::unexpected(st.error());
  if (auto st = sh->Authenticate(o); !st) return tl::unexpected(st.error());
  if (auto st = sh->StartShell(); !st) return tl::unexpected(st.error());
  auto first = sh->ReadReply("", profile.login_timeout_ms, "the first prompt");
  if (!first) return tl::unexpected(first.error());
  for (const auto& line : profile.on_open) {
    auto r = sh->Run(line, profile.login_timeout_ms);
    if (!r) return tl::unexpected(r.error());
  }
  return sh;
}

transport::CliOpener Shell::Opener(ConnectOptions options, TerminalProfile profile) {
  return [options = std::move(options),
          profile = std::move(profile)]() -> Result<std::unique_ptr<transport::CliSession>> {
    auto sh = Open(options, profile);
    if (!sh) return tl::unexpected(sh.error());
    return std::unique_ptr<transport::CliSession>(std::move(*sh));
  };
}

Status Shell::Connect(const ConnectOptions& o) {
  ssh_session s = ssh_new();
  if (!s) return tl::unexpected(Fail(ErrorCode::kInternal, "ssh: cannot allocate a session"));
  impl_->session = s;
  long timeout_s = std::max(1, o.connect_timeout_ms / 1000);
  int port = o.port;
  int no = 0;
  int verbosity = SSH_LOG_NOLOG;
  ssh_options_set(s, SSH_OPTIONS_HOST, o.host.c_str());
  ssh_options_set(s, SSH_OPTIONS_PORT, &port);
  ssh_options_set(s, SSH_OPTIONS_USER, o.user.c_str());
  ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &timeout_s);
  ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &no);  // ~/.ssh/config must not change behaviour
  ssh_options_set(s, SSH_OPTIONS_LOG_VERBOSITY, &verbosity);
  int one = 1;
  ssh_options_set(s, SSH_OPTIONS_NODELAY, &one);  // one short command at a time: no Nagle delays
  if (!o.known_hosts.empty()) {
    ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, o.known_hosts.c_str());
    ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
  }
  if (ssh_connect(s) != SSH_OK)
    return tl::unexpected(
        Fail(ErrorCode::kUnavailable, "ssh " + where_ + ": cannot connect: " + ssh_get_error(s)));
  return {};
}

Status Shell::CheckHostKey(const ConnectOptions& o) {
  ssh_session s = impl_->session;
  ssh_key key = nullptr;
  if (ssh_get_server_publickey(s, &key) != SSH_OK)
    return tl::unexpected(
        Fail(ErrorCode::kUnavailable, "ssh " + where_ + ": no host key: " + ssh_get_error(s)));
  unsigned char* hash = nullptr;
  size_t hlen = 0;
  if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) == 0) {
    char* fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
    if (fp) {
      fingerprint_ = fp;
      ssh_string_free_char(fp);
    }
    ssh_clean_pubkey_hash(&hash);
  }
  ssh_key_free(key);
  const std::string file = o.known_hosts.empty() ? "~/.ssh/known_hosts" : o.known_hosts;
  auto refuse = [&](const std::string& why) {
    return tl::unexpected(Fail(ErrorCode::kPermissionDenied, "ssh " + where_ + ": " + why));
  };
  switch (ssh_session_is_known_server(s)) {
    case SSH_KNOWN_HOSTS_OK:
      return {};
    case SSH_KNOWN_HOSTS_CHANGED:
      return refuse("the host key has CHANGED (now " + fingerprint_ +
                    "); refusing to connect. If the device was really replaced, remove its old "
                    "entry from " +
                    file + " (ssh-keygen -R) and record the new key");
    case SSH_KNOWN_HOSTS_OTHER:
      return refuse(file + " records a key of another type for this host (the server offered " +
                    fingerprint_ + "); refusing to connect");
    case SSH_KNOWN_HOSTS_UNKNOWN:
    case SSH_KNOWN_HOSTS_NOT_FOUND:
      if (o.policy != HostKeyPolicy::kAcceptNew)
        return refuse("host key " + fingerprint_ + " is not in " + file +
                      " (hostKeyPolicy: strict); record it (ssh-keyscan) or set hostKeyPolicy: "
                      "accept-new");
      return RecordHostKey(o, file);
    default:
      return refuse("cannot check the host key against " + file + ": " + ssh_get_error(s));
  }
}

Status Shell::RecordHostKey(const ConnectOptions& o, const std::string& file) {
  // libssh creates the file 0644 when it is new; a known_hosts file is the trust anchor of
  // every SSH connection, so it is made owner-only (as OpenSSH keeps ~/.ssh).
  const bool fresh = !o.known_hosts.empty() && ::access(o.known_hosts.c_str(), F_OK) != 0;
  if (ssh_session_update_known_hosts(impl_->session) != SSH_OK)
    return tl::unexpected(
        Fail(ErrorCode::kPermissionDenied, "ssh " + where_ + ": cannot record the host key in " +
                                               file + ": " + ssh_get_error(impl_->session)));
  if (fresh && ::chmod(o.known_hosts.c_str(), 0600) != 0)
    return tl::unexpected(Fail(ErrorCode::kPermissionDenied,
                               "ssh " + where_ + ": cannot make " + file + " owner-only"));
  recorded_ = true;
  return {};
}

// A private key if one is given, else the password. Errors never echo them.
Status Shell::Authenticate(const ConnectOptions& o) {
  ssh_session s = impl_->session;
  int rc = SSH_AUTH_DENIED;
  if (!o.private_key.empty()) {
    ssh_key priv = nullptr;
    if (ssh_pki_import_privkey_base64(o.private_key.c_str(), nullptr, nullptr, nullptr, &priv) !=
        SSH_OK)
      return tl::unexpected(
          Fail(ErrorCode::kPermissionDenied, "ssh " + where_ + ": the private key cannot be read"));
    rc = ssh_userauth_publickey(s, nullptr, priv);
    ssh_key_free(priv);
  }
  if (rc != SSH_AUTH_SUCCESS && !o.password.empty())
    rc = ssh_userauth_password(s, nullptr, o.password.c_str());
  if (rc != SSH_AUTH_SUCCESS)
    return tl::unexpected(
        Fail(ErrorCode::kPermissionDenied,
             "ssh " + where_ + ": authentication as '" + o.user + "' failed: " + ssh_get_error(s)));
  return {};
}

// A session channel, the PTY, then the shell, each answered before the next
// (research/switch.md 5.3).
Status Shell::StartShell() {
  ssh_session s = impl_->session;
  ssh_channel ch = ssh_channel_new(s);
  if (!ch) return tl::unexpected(Fail(ErrorCode::kInternal, "ssh: cannot allocate a channel"));
  impl_->channel = ch;
  if (ssh_channel_open_session(ch) != SSH_OK)
    return tl::unexpected(Fail(ErrorCode::kUnavailable,
                               "ssh " + where_ + ": cannot open a session: " + ssh_get_error(s)));
  if (ssh_channel_request_pty_size(ch, "vt100", 511, 1000) != SSH_OK)
    return tl::unexpected(
        Fail(ErrorCode::kUnavailable, "ssh " + where_ + ": PTY refused: " + ssh_get_error(s)));
  if (ssh_channel_request_shell(ch) != SSH_OK)
    return tl::unexpected(
        Fail(ErrorCode::kUnavailable, "ssh " + where_ + ": shell refused: " + ssh_get_error(s)));
  return {};
}

Status Shell::Write(const std::string& text) {
  size_t off = 0;
  while (off < text.size()) {
    int n = ssh_channel_write(impl_->channel, text.data() + off,
                              static_cast<uint32_t>(text.size() - off));
    if (n <= 0) {
      broken_ = true;
      return tl::unexpected(
          Fail(ErrorCode::kUnavailable, "ssh " + where_ + ": connection lost while sending"));
    }
    off += static_cast<size_t>(n);
  }
  return {};
}

Result<Reply> Shell::Run(const std::string& line, int timeout_ms) {
  if (!Alive())
    return tl::unexpected(
        Fail(ErrorCode::kUnavailable, "ssh " + where_ + ": the connection is closed"));
  // Drop whatever arrived while idle (broadcasts, a re-printed prompt): it belongs to no command.
  char buf[4096];
  while (ssh_channel_poll(impl_->channel, 0) > 0) {
    if (ssh_channel_read_nonblocking(impl_->channel, buf, sizeof buf, 0) <= 0) break;
  }
  impl_->raw.clear();
  if (auto st = Write(line + "\n"); !st) return tl::unexpected(st.error());
  ++lines_sent_;
  return ReadReply(line, timeout_ms, "'" + line + "'");
}

Result<Reply> Shell::ReadReply(const std::string& echo, int timeout_ms, const std::string& what) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  auto echo_grace = Clock::time_point::max();
  char buf[16384];
  std::string text;
  bool fresh = true;
  while (true) {
    if (fresh) {
      fresh = false;
      text = NormalizeTerminalText(impl_->raw);
      // The command's own echo comes first; only what follows it is the reply.
      size_t body = 0;
      bool echoed = echo.empty();
      if (!echoed) {
        auto at = text.find(echo);
        if (at != std::string::npos) {
          auto nl = text.find('\n', at + echo.size());
          if (nl != std::string::npos) {
            echoed = true;
            body = nl + 1;
          }
        }
      }
      const auto last_nl = text.rfind('\n');
      const std::string last = last_nl == std::string::npos ? text : text.substr(last_nl + 1);
      const size_t last_start = last_nl == std::string::npos ? 0 : last_nl + 1;
      if (!last.empty() && std::regex_match(last, profile_.pager)) {
        // Answer the pager and forget its line (it is redrawn away on a real terminal).
        impl_->raw = text.substr(0, last_start);
        if (auto st = Write(profile_.pager_answer); !st) return tl::unexpected(st.error());
        continue;
      }
      const bool is_prompt = !last.empty() && std::regex_match(last, profile_.prompt);
      const bool is_question =
          !is_prompt && !last.empty() && std::regex_match(last, profile_.question);
      if ((is_prompt || is_question) && !echoed && echo_grace == Clock::time_point::max())
        echo_grace = Clock::now() + std::chrono::milliseconds(300);  // a mangled echo: wait briefly
      if ((is_prompt || is_question) && (echoed || Clock::now() >= echo_grace)) {
        Reply r;
        const size_t end = last_start;
        r.output = body < end ? text.substr(body, end - body) : std::string();
        if (!r.output.empty() && r.output.back() == '\n') r.output.pop_back();
        (is_prompt ? r.prompt : r.question) = last;
        return r;
      }
    }
    const auto now = Clock::now();
    if (now >= deadline) {
      broken_ = true;
      return tl::unexpected(
          Fail(ErrorCode::kDeadlineExceeded, "ssh " + where_ + ": no prompt within " +
                                                 std::to_string(timeout_ms) + " ms after " + what +
                                                 " (last output: '" + Tail(text) + "')"));
    }
    const int slice = static_cast<int>(std::min<int64_t>(
        100, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1));
    int n = ssh_channel_read_timeout(impl_->channel, buf, sizeof buf, 0, slice);
    if (n == SSH_ERROR ||
        (n == 0 && (ssh_channel_is_eof(impl_->channel) || !ssh_channel_is_open(impl_->channel)))) {
      broken_ = true;
      return tl::unexpected(Fail(ErrorCode::kUnavailable,
                                 "ssh " + where_ + ": the device closed the connection after " +
                                     what + " (last output: '" + Tail(text) + "')"));
    }
    if (n > 0) {
      impl_->raw.append(buf, static_cast<size_t>(n));
      fresh = true;
    } else if (echo_grace != Clock::time_point::max()) {
      fresh = true;
    }
  }
}

}  // namespace nc::ssh

#include "test/sim/common/ssh_server.hpp"

#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <chrono>
#include <cstring>

namespace nc::sim {

namespace {

void InitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { ssh_init(); });
}

struct Conn {
  const SshServerOptions* options = nullptr;
  ssh_channel channel = nullptr;
  bool authenticated = false;
  int auth_attempts = 0;
  bool shell = false;
  bool hang = false;
  bool close = false;
  int exit_status = -1;  // sent before the channel closes (a logout: 0)
  int escape = 0;        // inside an escape sequence: 1 after ESC, 2 inside CSI
  std::unique_ptr<Terminal> terminal;
  std::string user;
  std::string line;
  const SshServer::TerminalFactory* factory = nullptr;

  void Write(const std::string& text) {
    if (!channel || text.empty()) return;
    std::string out;
    out.reserve(text.size() + text.size() / 16);
    for (char c : text) {
      if (c == '\n')
        out += "\r\n";
      else
        out += c;
    }
    size_t off = 0;
    while (off < out.size()) {
      int n = ssh_channel_write(channel, out.data() + off, static_cast<uint32_t>(out.size() - off));
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }
  void Emit(const Terminal::Output& o) {
    Write(o.text);
    if (o.hang) hang = true;
    if (o.close) close = true;
    if (o.close && o.exit_status >= 0) exit_status = o.exit_status;
  }
};

int AuthPassword(ssh_session, const char* user, const char* pass, void* ud) {
  auto* c = static_cast<Conn*>(ud);
  if (!c->options->password.empty() && c->options->user == user && c->options->password == pass) {
    c->authenticated = true;
    c->user = user;
    return SSH_AUTH_SUCCESS;
  }
  ++c->auth_attempts;
  return SSH_AUTH_DENIED;
}

int AuthPubkey(ssh_session, const char* user, struct ssh_key_struct* pubkey, char state, void* ud) {
  auto* c = static_cast<Conn*>(ud);
  if (c->options->authorized_key.empty() || c->options->user != user) return SSH_AUTH_DENIED;
  ssh_key allowed = nullptr;
  if (ssh_pki_import_pubkey_base64(c->options->authorized_key.c_str(), SSH_KEYTYPE_ED25519,
                                   &allowed) != SSH_OK)
    return SSH_AUTH_DENIED;
  const bool same = ssh_key_cmp(allowed, pubkey, SSH_KEY_CMP_PUBLIC) == 0;
  ssh_key_free(allowed);
  if (!same) {
    ++c->auth_attempts;
    return SSH_AUTH_DENIED;
  }
  if (state == SSH_PUBLICKEY_STATE_NONE) return SSH_AUTH_SUCCESS;  // "this key would do"
  if (state != SSH_PUBLICKEY_STATE_VALID) return SSH_AUTH_DENIED;
  c->authenticated = true;
  c->user = user;
  return SSH_AUTH_SUCCESS;
}

ssh_channel ChannelOpen(ssh_session session, void* ud) {
  auto* c = static_cast<Conn*>(ud);
  if (c->channel) return nullptr;  // one session channel per connection
  c->channel = ssh_channel_new(session);
  return c->channel;
}

int PtyRequest(ssh_session, ssh_channel, const char*, int, int, int, int, void*) {
  return SSH_OK;
}
int PtyResize(ssh_session, ssh_channel, int, int, int, int, void*) {
  return SSH_OK;
}
int ExecRequest(ssh_session, ssh_channel, const char* command, void* ud) {
  auto* c = static_cast<Conn*>(ud);
  if (c->shell || c->terminal) return SSH_ERROR;
  c->terminal = (*c->factory)(c->user);
  auto [out, status] = c->terminal->Exec(command ? command : "");
  size_t off = 0;  // no pty: the output goes as it is
  while (off < out.size()) {
    int n =
        ssh_channel_write(c->channel, out.data() + off, static_cast<uint32_t>(out.size() - off));
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  c->exit_status = status;
  c->close = true;
  return SSH_OK;
}

int ShellRequest(ssh_session, ssh_channel, void* ud) {
  auto* c = static_cast<Conn*>(ud);
  if (c->shell) return SSH_ERROR;
  c->shell = true;
  c->terminal = (*c->factory)(c->user);
  c->Emit(c->terminal->Start());
  return SSH_OK;
}

int Data(ssh_session, ssh_channel, void* data, uint32_t len, int, void* ud) {
  auto* c = static_cast<Conn*>(ud);
  if (!c->terminal || c->hang) return static_cast<int>(len);
  const char* p = static_cast<const char*>(data);
  std::string echo;  // typed characters are echoed in one write per chunk, as a tty would
  auto flush = [&] {
    c->Write(echo);
    echo.clear();
  };
  for (uint32_t i = 0; i < len && !c->hang && !c->close; ++i) {
    const char ch = p[i];
    if (c->terminal->KeyMode()) {
      flush();
      c->Emit(c->terminal->OnKey(ch));
      continue;
    }
    if (ch == '\r' || ch == '\n') {
      if (ch == '\n' && i > 0 && p[i - 1] == '\r') continue;
      echo += "\n";
      flush();
      std::string line = std::move(c->line);
      c->line.clear();
      c->Emit(c->terminal->OnLine(line));
    } else if (ch == 0x7f || ch == '\b') {
      if (!c->line.empty()) {
        c->line.pop_back();
        echo += "\b \b";
      }
    } else if (ch == 0x03) {  // Ctrl-C
      flush();
      c->line.clear();
      c->Emit(c->terminal->OnLine("\x03"));
    } else if (ch == 0x15) {  // Ctrl-U: the line is erased
      for (size_t k = 0; k < c->line.size(); ++k) echo += "\b \b";
      c->line.clear();
    } else if (ch == 0x1b) {  // an escape sequence (arrow keys, ...): not part of the line
      c->escape = 1;
    } else if (c->escape == 1) {
      c->escape = ch == '[' || ch == 'O' ? 2 : 0;
    } else if (c->escape == 2) {
      if (ch >= 0x40 && ch <= 0x7e) c->escape = 0;  // the sequence's final byte
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      // Tab and other control keys are handled by the terminal, never typed into the line.
    } else {
      c->line.push_back(ch);
      echo.push_back(ch);
    }
  }
  flush();
  return static_cast<int>(len);
}

}  // namespace

Result<std::pair<std::string, std::string>> GenerateKeyPair() {
  InitOnce();
  ssh_key key = nullptr;
  if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK)
    return tl::unexpected(Error{ErrorCode::kInternal, "cannot generate an ed25519 key"});
  char* priv = nullptr;
  char* pub = nullptr;
  const bool ok = ssh_pki_export_privkey_base64(key, nullptr, nullptr, nullptr, &priv) == SSH_OK &&
                  ssh_pki_export_pubkey_base64(key, &pub) == SSH_OK;
  std::pair<std::string, std::string> out;
  if (ok) out = {priv, pub};
  if (priv) ssh_string_free_char(priv);
  if (pub) ssh_string_free_char(pub);
  ssh_key_free(key);
  if (!ok) return tl::unexpected(Error{ErrorCode::kInternal, "cannot export a key"});
  return out;
}

Result<std::string> GenerateKeyFile(const std::string& path) {
  InitOnce();
  ssh_key key = nullptr;
  if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK)
    return tl::unexpected(Error{ErrorCode::kInternal, "cannot generate an ed25519 key"});
  char* pub = nullptr;
  const bool ok =
      ssh_pki_export_privkey_file(key, nullptr, nullptr, nullptr, path.c_str()) == SSH_OK &&
      ssh_pki_export_pubkey_base64(key, &pub) == SSH_OK;
  std::string out = ok ? pub : "";
  if (pub) ssh_string_free_char(pub);
  ssh_key_free(key);
  if (!ok) return tl::unexpected(Error{ErrorCode::kInternal, "cannot write the key to " + path});
  chmod(path.c_str(), 0600);
  return out;
}

SshServer::SshServer(SshServerOptions options, TerminalFactory factory)
    : options_(std::move(options)), factory_(std::move(factory)) {}

SshServer::~SshServer() {
  Stop();
}

Status SshServer::Start() {
  InitOnce();
  ssh_bind b = ssh_bind_new();
  bind_ = b;
  int port = options_.port;
  ssh_bind_options_set(b, SSH_BIND_OPTIONS_BINDADDR, "127.0.0.1");
  ssh_bind_options_set(b, SSH_BIND_OPTIONS_BINDPORT, &port);
  if (ssh_bind_options_set(b, SSH_BIND_OPTIONS_HOSTKEY, options_.host_key_file.c_str()) != SSH_OK)
    return tl::unexpected(Error{ErrorCode::kInvalidArgument,
                                "host key " + options_.host_key_file + ": " + ssh_get_error(b)});
  if (ssh_bind_listen(b) != SSH_OK)
    return tl::unexpected(
        Error{ErrorCode::kUnavailable, std::string("ssh bind: ") + ssh_get_error(b)});
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  getsockname(ssh_bind_get_fd(b), reinterpret_cast<sockaddr*>(&sa), &len);
  port_ = ntohs(sa.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
  return {};
}

void SshServer::Stop() {
  if (stop_.exchange(true)) return;
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard lk(mu_);
    threads.swap(sessions_);
  }
  for (auto& t : threads)
    if (t.joinable()) t.join();
  if (bind_) ssh_bind_free(static_cast<ssh_bind>(bind_));
  bind_ = nullptr;
}

void SshServer::DropAll() {
  ++drop_epoch_;
}

void SshServer::AcceptLoop() {
  auto b = static_cast<ssh_bind>(bind_);
  while (!stop_) {
    pollfd p{ssh_bind_get_fd(b), POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    ssh_session s = ssh_new();
    if (ssh_bind_accept(b, s) != SSH_OK) {
      ssh_free(s);
      continue;
    }
    std::lock_guard lk(mu_);
    sessions_.emplace_back([this, s] { Serve(s); });
  }
}

void SshServer::Serve(void* raw) {
  auto session = static_cast<ssh_session>(raw);
  ++connections_;
  const int epoch = drop_epoch_.load();
  Conn c;
  c.options = &options_;
  c.factory = &factory_;
  ssh_server_callbacks_struct server_cb{};
  server_cb.userdata = &c;
  server_cb.auth_password_function = AuthPassword;
  server_cb.auth_pubkey_function = AuthPubkey;
  server_cb.channel_open_request_session_function = ChannelOpen;
  ssh_callbacks_init(&server_cb);
  ssh_channel_callbacks_struct channel_cb{};
  channel_cb.userdata = &c;
  channel_cb.channel_pty_request_function = PtyRequest;
  channel_cb.channel_pty_window_change_function = PtyResize;
  channel_cb.channel_shell_request_function = ShellRequest;
  channel_cb.channel_exec_request_function = ExecRequest;
  channel_cb.channel_data_function = Data;
  ssh_callbacks_init(&channel_cb);
  ssh_set_server_callbacks(session, &server_cb);
  int methods = 0;
  if (!options_.password.empty()) methods |= SSH_AUTH_METHOD_PASSWORD;
  if (!options_.authorized_key.empty()) methods |= SSH_AUTH_METHOD_PUBLICKEY;
  ssh_set_auth_methods(session, methods);
  ssh_event event = ssh_event_new();
  if (int fd = ssh_get_fd(session); fd >= 0) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  if (ssh_handle_key_exchange(session) == SSH_OK && event) {
    ssh_event_add_session(event, session);
    for (int n = 0; !stop_ && (!c.authenticated || !c.channel) && c.auth_attempts < 6 && n < 100;
         ++n)
      if (ssh_event_dopoll(event, 100) == SSH_ERROR) break;
    if (c.authenticated && c.channel) {
      ssh_set_channel_callbacks(c.channel, &channel_cb);
      while (!stop_ && !c.close && drop_epoch_.load() == epoch && ssh_channel_is_open(c.channel) &&
             !ssh_channel_is_eof(c.channel)) {
        if (ssh_event_dopoll(event, 50) == SSH_ERROR) break;
        if (c.terminal && !c.hang) {
          auto async = c.terminal->TakeAsync();
          if (!async.empty()) c.Write(async);
        }
      }
      if (drop_epoch_.load() == epoch && !stop_ && (!c.close || c.exit_status >= 0)) {
        if (c.exit_status >= 0) ssh_channel_request_send_exit_status(c.channel, c.exit_status);
        ssh_channel_send_eof(c.channel);
      }
      ssh_channel_close(c.channel);
      // A session that ended in order: let the client close its side and disconnect first, as
      // sshd does (else OpenSSH's last write meets a reset: "Broken pipe", exit 255).
      if (c.exit_status >= 0 && !stop_)
        for (int n = 0; n < 40 && ssh_is_connected(session); ++n)
          if (ssh_event_dopoll(event, 50) == SSH_ERROR) break;
    }
    ssh_event_remove_session(event, session);
  }
  if (event) ssh_event_free(event);
  ssh_disconnect(session);
  ssh_free(session);
  --connections_;
}

}  // namespace nc::sim

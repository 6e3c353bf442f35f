#include "test/sim/vyos/vyos_sim.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <ctime>
#include <fstream>
#include <set>
#include <sstream>

namespace nc::sim {

using vy::Node;

struct Cmd {
  std::string op;
  std::vector<std::string> path;
  std::optional<std::string> value;
};

struct ParsedCommands {
  std::string op;  // op of a single command
  std::vector<Cmd> commands;
  bool is_list = false;
  int confirm_time = 0;
  std::optional<std::string> file;
  std::optional<std::string> string;
  std::string config_format = "json";
};

namespace {

std::string JsonString(const std::string& s) {
  return vy::JsonQuote(s);
}

// VyOS 1.5 HTML-escapes error texts.
std::string HtmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

SimReply Ok(const std::string& data_json) {
  return SimReply{200, "text/html; charset=utf-8",
                  "{\"success\": true, \"data\": " + data_json + ", \"error\": null}"};
}
SimReply OkText(const std::string& text) {
  return Ok(JsonString(text));
}
SimReply Fail(int status, const std::string& error) {
  return SimReply{
      status, "text/html; charset=utf-8",
      "{\"success\": false, \"data\": null, \"error\": " + JsonString(HtmlEscape(error)) + "}"};
}
SimReply Nginx(int status, const std::string& title) {
  std::string body = "<html>\r\n<head><title>" + title +
                     "</title></head>\r\n<body>\r\n<center><h1>" + title +
                     "</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
  return SimReply{status, "text/html", body};
}
SimReply Detail(int status, const std::string& detail) {
  return SimReply{status, "application/json", "{\"detail\":" + JsonString(detail) + "}"};
}

std::string UrlDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+')
      out += ' ';
    else if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else
      out += s[i];
  }
  return out;
}

std::map<std::string, std::string> ParseUrlEncoded(std::string_view body) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start <= body.size()) {
    size_t amp = body.find('&', start);
    auto pair =
        body.substr(start, amp == std::string_view::npos ? std::string_view::npos : amp - start);
    if (!pair.empty()) {
      auto eq = pair.find('=');
      out[UrlDecode(pair.substr(0, eq))] =
          eq == std::string_view::npos ? "" : UrlDecode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
  return out;
}

std::map<std::string, std::string> ParseMultipart(const std::string& content_type,
                                                  const std::string& body) {
  std::map<std::string, std::string> out;
  auto b = content_type.find("boundary=");
  if (b == std::string::npos) return out;
  std::string boundary = content_type.substr(b + 9);
  if (auto semi = boundary.find(';'); semi != std::string::npos)
    boundary = boundary.substr(0, semi);
  if (!boundary.empty() && boundary.front() == '"')
    boundary = boundary.substr(1, boundary.size() - 2);
  const std::string delim = "--" + boundary;
  size_t pos = body.find(delim);
  while (pos != std::string::npos) {
    pos += delim.size();
    if (body.compare(pos, 2, "--") == 0) break;
    size_t hdr_end = body.find("\r\n\r\n", pos);
    if (hdr_end == std::string::npos) break;
    std::string headers = body.substr(pos, hdr_end - pos);
    size_t next = body.find("\r\n" + delim, hdr_end + 4);
    if (next == std::string::npos) break;
    std::string content = body.substr(hdr_end + 4, next - hdr_end - 4);
    auto n = headers.find("name=\"");
    if (n != std::string::npos) {
      auto e = headers.find('"', n + 6);
      out[headers.substr(n + 6, e - n - 6)] = content;
    }
    pos = next + 2;
  }
  return out;
}

// The pydantic error text VyOS returns as the 400 body, shortened to its first error.
std::string PydanticError(const std::string& type, const std::string& loc, const std::string& msg) {
  return "{'type': '" + type + "', 'loc': ('body', " + loc + "), 'msg': '" + msg + "'}";
}

Status ParseCmd(const rapidjson::Value& v, Cmd* out, const std::string& loc_prefix,
                bool need_path) {
  if (!v.IsObject())
    return MakeError(ErrorCode::kInvalidArgument,
                     PydanticError("model_type", loc_prefix, "Input should be an object"));
  if (!v.HasMember("op") || !v["op"].IsString())
    return MakeError(
        ErrorCode::kInvalidArgument,
        PydanticError(v.HasMember("op") ? "string_type" : "missing", loc_prefix + "'op'",
                      v.HasMember("op") ? "Input should be a valid string" : "Field required"));
  out->op = v["op"].GetString();
  if (v.HasMember("path")) {
    if (!v["path"].IsArray())
      return MakeError(
          ErrorCode::kInvalidArgument,
          PydanticError("list_type", loc_prefix + "'path'", "Input should be a valid list"));
    int i = 0;
    for (const auto& e : v["path"].GetArray()) {
      if (!e.IsString())
        return MakeError(ErrorCode::kInvalidArgument,
                         PydanticError("string_type", loc_prefix + "'path', " + std::to_string(i),
                                       "Input should be a valid string"));
      out->path.emplace_back(e.GetString(), e.GetStringLength());
      ++i;
    }
  } else if (need_path && out->op != "confirm") {
    return MakeError(ErrorCode::kInvalidArgument,
                     PydanticError("missing", loc_prefix + "'path'", "Field required"));
  }
  if (v.HasMember("value") && !v["value"].IsNull()) {
    if (!v["value"].IsString())
      return MakeError(
          ErrorCode::kInvalidArgument,
          PydanticError("string_type", loc_prefix + "'value'", "Input should be a valid string"));
    std::string s(v["value"].GetString(), v["value"].GetStringLength());
    if (!s.empty()) out->value = s;  // the API tests truthiness: "" is no value
  }
  return {};
}

int RuleCount(const Node& root) {
  int n = 0;
  for (const char* side : {"destination", "source"})
    if (const auto* r = root.At({"nat", side, "rule"})) n += static_cast<int>(r->kids.size());
  return n;
}

std::string StatsJson(const SimStats& s, bool pending) {
  std::ostringstream o;
  o << "{\"requests\":" << s.requests << ",\"info\":" << s.info << ",\"retrieve\":" << s.retrieve
    << ",\"configure\":" << s.configure << ",\"config_file\":" << s.config_file
    << ",\"commits\":" << s.commits << ",\"commit_confirms\":" << s.commit_confirms
    << ",\"confirms\":" << s.confirms << ",\"reverts\":" << s.reverts << ",\"saves\":" << s.saves
    << ",\"ops\":" << s.ops << ",\"failed\":" << s.failed << ",\"bytes_in\":" << s.bytes_in
    << ",\"confirm_pending\":" << (pending ? "true" : "false") << "}";
  return o.str();
}

}  // namespace

VyosSim::VyosSim(Options options)
    : options_(std::move(options)), schema_(options_.profile, vy::ReadServices()) {
  if (options_.profile != vy::Version::k15) options_.info_endpoint = false;  // /info came with 1.5
  if (options_.profile != vy::Version::k15) options_.rest = true;  // `api rest` is a 1.5 node
  // A factory-fresh box: the API enabled with our keys, nothing else.
  for (size_t i = 0; i < options_.keys.size(); ++i)
    (void)schema_.Set(
        running_,
        {"service", "https", "api", "keys", "id", "netconverge-" + std::to_string(i), "key"},
        options_.keys[i]);
  if (options_.rest && options_.profile == vy::Version::k15)
    (void)schema_.Set(running_, {"service", "https", "api", "rest"}, std::nullopt);
  (void)schema_.Set(running_, {"system", "host-name"}, options_.hostname);
  saved_ = vy::RenderBoot(running_, Release());
  timer_ = std::thread([this] { TimerLoop(); });
}

VyosSim::~VyosSim() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  timer_cv_.notify_all();
  timer_.join();
}

std::string VyosSim::Release() const {
  switch (options_.profile) {
    case vy::Version::k13:
      return "1.3";
    case vy::Version::k14:
      return "1.4";
    default:
      return "1.5-rolling";
  }
}

void VyosSim::TimerLoop() {
  std::unique_lock lk(mu_);
  while (!stopping_) {
    if (confirm_pending_) {
      if (timer_cv_.wait_until(lk, confirm_deadline_) == std::cv_status::timeout &&
          confirm_pending_ && std::chrono::steady_clock::now() >= confirm_deadline_) {
        if (options_.confirm_action == "reboot") {
          // Reboot into the saved config.boot: every unsaved commit is lost.
          auto saved = vy::ParseBoot(saved_);
          if (saved) running_ = *saved;
        } else {
          running_ = confirm_revert_to_;
        }
        confirm_pending_ = false;
        ++stats_.reverts;
      }
    } else {
      timer_cv_.wait(lk);
    }
  }
}

LatencyModel VyosSim::Latency() const {
  std::lock_guard lk(mu_);
  return options_.latency;
}

void VyosSim::Sleep(double ms) const {
  double scaled = ms * Latency().scale;
  if (scaled <= 0) return;
  std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(scaled * 1000)));
}

void VyosSim::SetKeys(std::vector<std::string> keys) {
  std::lock_guard lk(mu_);
  options_.keys = std::move(keys);
}

bool VyosSim::KeyValid(const std::string& key) const {
  // Constant time per candidate: the emulator holds test keys, but behaves as a server should.
  std::lock_guard lk(mu_);  // keys can be rotated while requests run
  bool ok = false;
  for (const auto& k : options_.keys) {
    if (k.size() != key.size()) continue;
    unsigned char diff = 0;
    for (size_t i = 0; i < k.size(); ++i) diff |= static_cast<unsigned char>(k[i] ^ key[i]);
    ok = ok || diff == 0;
  }
  return ok;
}

int VyosSim::NatRuleCount(const Node& n) const {
  return RuleCount(n);
}

SimReply VyosSim::Handle(const SimRequest& req) {
  std::string path = req.target.substr(0, req.target.find('?'));
  int delay = 0;
  if (path.rfind("/_sim/", 0) == 0) return Control(req);  // test hooks are not device traffic
  {
    std::lock_guard lk(mu_);
    ++stats_.requests;
    stats_.bytes_in += static_cast<int64_t>(req.body.size());
    if (faults_.slow_count != 0 && (faults_.slow_path.empty() || faults_.slow_path == path)) {
      delay = faults_.slow_ms;
      if (faults_.slow_count > 0) --faults_.slow_count;
    }
  }
  SimReply reply;
  const bool rest_route =
      path == "/retrieve" || path == "/configure" || path == "/config-file" || path == "/show";
  if (path == "/info" && options_.info_endpoint) {
    reply = Info(req);
  } else if (rest_route && !options_.rest) {
    // 1.5 registers the REST routes only with `service https api rest` (T6736).
    reply = Detail(404, "Not Found");
  } else if (rest_route) {
    reply = req.method == "POST" ? Dispatch(path, req) : Detail(405, "Method Not Allowed");
  } else {
    reply = Nginx(404, "404 Not Found");
  }
  reply.delay_ms = delay;
  if (reply.status >= 300) {
    std::lock_guard lk(mu_);
    ++stats_.failed;
  }
  return reply;
}

SimReply VyosSim::Info(const SimRequest& req) {
  {
    std::lock_guard lk(mu_);
    ++stats_.info;
  }
  if (req.method != "GET") return Detail(405, "Method Not Allowed");
  Sleep(Latency().request_ms);
  bool version = true;
  bool hostname = true;
  auto q = req.target.find('?');
  if (q != std::string::npos) {
    for (const auto& [k, v] : ParseUrlEncoded(std::string_view(req.target).substr(q + 1))) {
      const bool on = v == "1" || v == "true" || v == "yes" || v == "on" || v == "True";
      if (k == "version")
        version = on;
      else if (k == "hostname")
        hostname = on;
      else
        return Fail(400, "Unsupported query parameter: " + k);
    }
  }
  std::string data = "{";
  if (version) data += "\"version\": " + JsonString(options_.version) + ", ";
  if (hostname) data += "\"hostname\": " + JsonString(options_.hostname) + ", ";
  data += "\"banner\": \"Welcome to VyOS\"}";
  return Ok(data);
}

SimReply VyosSim::Show(const ParsedCommands& pc) {
  const Cmd& c = pc.commands.front();
  if (c.op != "show") return Fail(400, "'" + c.op + "' is not a valid operation");
  std::string cmd;
  for (const auto& p : c.path) cmd += (cmd.empty() ? "" : " ") + p;
  if (cmd == "version")
    return OkText("Version:          VyOS " + options_.version + "\nRelease train:    " +
                  (options_.profile == vy::Version::k13   ? "equuleus"
                   : options_.profile == vy::Version::k14 ? "sagitta"
                                                          : "current") +
                  "\n\nBuilt by:         vyos-sim\nHardware vendor:  netconverge\n");
  if (cmd == "configuration commands") {
    std::lock_guard lk(mu_);
    return OkText(vy::RenderCommands(running_));
  }
  return Fail(400, "\n  Invalid command: show [" + cmd + "]\n");
}

SimReply VyosSim::Dispatch(const std::string& endpoint, const SimRequest& req) {
  Sleep(Latency().request_ms);
  std::string key;
  std::string data;
  rapidjson::Document doc;
  const bool json = req.content_type.rfind("application/json", 0) == 0;
  if (json) {
    doc.Parse(req.body.c_str(), req.body.size());
    if (doc.HasParseError() || !doc.IsObject())
      return Fail(400, "Failed to parse JSON: malformed request body");
    if (!doc.HasMember("key") || !doc["key"].IsString())
      return Fail(400, PydanticError("missing", "'key'", "Field required"));
    key = doc["key"].GetString();
  } else {
    std::map<std::string, std::string> form = req.content_type.rfind("multipart/form-data", 0) == 0
                                                  ? ParseMultipart(req.content_type, req.body)
                                                  : ParseUrlEncoded(req.body);
    if (!form.count("data") || form["data"].empty()) {
      if (!form.count("key") || !KeyValid(form["key"]))
        return Fail(401, "Valid API key is required");
      return Fail(422, "Non-empty data field is required");
    }
    data = form["data"];
    key = form.count("key") ? form["key"] : "";
    doc.Parse(data.c_str(), data.size());
    if (doc.HasParseError()) return Fail(400, "Failed to parse JSON: " + data.substr(0, 64));
    if (doc.IsArray()) {
      // The array shorthand of the form encoding becomes {"commands": [...]}.
      rapidjson::Value arr(rapidjson::kArrayType);
      arr.CopyFrom(doc, doc.GetAllocator());
      doc.SetObject();
      doc.AddMember("commands", arr, doc.GetAllocator());
    }
    if (!doc.IsObject()) return Fail(400, "Malformed command: " + data.substr(0, 64));
    if (doc.HasMember("key") && doc["key"].IsString()) key = doc["key"].GetString();
  }
  if (!KeyValid(key)) return Fail(401, "Valid API key is required");

  ParsedCommands pc;
  if (doc.HasMember("commands")) {
    if (!doc["commands"].IsArray())
      return Fail(400, PydanticError("list_type", "'commands'", "Input should be a valid list"));
    pc.is_list = true;
    int i = 0;
    for (const auto& c : doc["commands"].GetArray()) {
      Cmd cmd;
      auto st =
          ParseCmd(c, &cmd, "'commands', " + std::to_string(i++) + ", ", endpoint == "/configure");
      if (!st) return Fail(400, st.error().message);
      pc.commands.push_back(std::move(cmd));
    }
  } else {
    Cmd cmd;
    auto st = ParseCmd(doc, &cmd, "", endpoint != "/config-file");
    if (!st) return Fail(400, st.error().message);
    pc.op = cmd.op;
    pc.commands.push_back(std::move(cmd));
  }
  // `confirm_time` exists from the 1.5 builds with commit-confirm on; older models ignore the
  // extra field (pydantic), so the commit is a plain one.
  if (doc.HasMember("confirm_time") && options_.profile == vy::Version::k15 &&
      options_.confirm_time) {
    if (!doc["confirm_time"].IsInt())
      return Fail(400,
                  PydanticError("int_type", "'confirm_time'", "Input should be a valid integer"));
    pc.confirm_time = doc["confirm_time"].GetInt();
  }
  if (doc.HasMember("file") && doc["file"].IsString()) pc.file = doc["file"].GetString();
  if (doc.HasMember("string") && doc["string"].IsString()) pc.string = doc["string"].GetString();
  if (doc.HasMember("configFormat") && doc["configFormat"].IsString())
    pc.config_format = doc["configFormat"].GetString();

  if (endpoint == "/show") return Show(pc);
  if (endpoint == "/retrieve") {
    std::lock_guard lk(mu_);
    ++stats_.retrieve;
    const Cmd& c = pc.commands.front();
    if (pc.config_format != "json" && pc.config_format != "raw" && pc.config_format != "json_ast")
      return Fail(400, "'" + pc.config_format + "' is not a valid config format");
    const Node* n = running_.At(c.path);
    if (c.op == "exists") return Ok(n ? "true" : "false");
    if (c.op == "returnValue") {
      if (!n || n->kind != Node::Kind::kLeaf || n->values.empty()) return Ok("null");
      return Ok(JsonString(n->values.front()));
    }
    if (c.op == "returnValues") {
      std::string arr = "[";
      if (n && n->kind == Node::Kind::kLeaf)
        for (size_t i = 0; i < n->values.size(); ++i)
          arr += (i ? ", " : "") + JsonString(n->values[i]);
      return Ok(arr + "]");
    }
    if (c.op != "showConfig") return Fail(400, "'" + c.op + "' is not a valid operation");
    if (!n || (n->kind != Node::Kind::kLeaf && n->kids.empty())) {
      bool valid = c.path.empty() || schema_.Known(c.path);
      return Fail(400, valid ? "Configuration under specified path is empty\n"
                             : "Specified configuration path is not valid\n");
    }
    Node out = *n;
    const bool nat_read = c.path.size() == 2 && c.path[1] == "destination";
    if (nat_read && faults_.answer_count > 0 && faults_.answer_skip > 0) {
      --faults_.answer_skip;
    } else if (nat_read && faults_.answer_count > 0) {
      --faults_.answer_count;
      return SimReply{200, "application/json", faults_.answer_body};
    }
    if (nat_read && faults_.corrupt_readback > 0 && faults_.corrupt_skip > 0) {
      --faults_.corrupt_skip;
    } else if (nat_read && faults_.corrupt_readback > 0) {
      --faults_.corrupt_readback;
      auto rules = out.kids.find("rule");
      if (rules != out.kids.end() && !rules->second.kids.empty()) {
        auto& last = std::prev(rules->second.kids.end())->second;
        auto& port = last.kids["translation"].kids["port"];
        port.kind = Node::Kind::kLeaf;
        port.values = {"1"};
      }
    }
    if (pc.config_format == "raw") {
      Node wrap = out;
      if (out.kind == Node::Kind::kTag) {
        wrap = Node{};
        wrap.kids[c.path.back()] = out;
      }
      std::string text = vy::RenderBoot(wrap, "");
      return OkText(text.substr(0, text.find("// Warning")));
    }
    if (out.kind == Node::Kind::kTag) {  // a path ending at a tag node repeats the tag name
      Node wrap;
      wrap.kids[c.path.back()] = out;
      return Ok(vy::RenderJson(wrap));
    }
    return Ok(vy::RenderJson(out));
  }
  if (endpoint == "/configure") return Configure(pc);
  return ConfigFile(pc);
}

SimReply VyosSim::Confirm() {
  std::lock_guard lk(mu_);
  if (faults_.fail_confirm > 0) {
    --faults_.fail_confirm;
    SimReply r;
    r.drop = true;
    return r;
  }
  if (!confirm_pending_) return OkText("No confirm pending");
  confirm_pending_ = false;
  ++stats_.confirms;
  timer_cv_.notify_all();
  return OkText(options_.confirm_action == "reboot" ? "Reboot timer stopped"
                                                    : "Reload timer stopped");
}

Status VyosSim::SessionSet(Node& working, const std::vector<std::string>& path,
                           const std::optional<std::string>& value) {
  {
    std::lock_guard lk(mu_);
    std::string v = value ? *value : path.empty() ? std::string() : path.back();
    for (const auto& bad : faults_.reject_values)
      if (!bad.empty() && v == bad)  // a value some newer build refuses: the text names no rule
        return MakeError(
            ErrorCode::kRejected,
            "  Error: " + v +
                " is not a valid value here\n\n  Value validation failed\n  Set failed\n");
  }
  return schema_.Set(working, path, value);
}

Status VyosSim::SessionDelete(Node& working, const std::vector<std::string>& path,
                              const std::optional<std::string>& value, bool strict) {
  return schema_.Delete(working, path, value, strict);
}

SimReply VyosSim::Configure(const ParsedCommands& pc) {
  {
    std::lock_guard lk(mu_);
    ++stats_.configure;
  }
  if (!pc.is_list && pc.op == "confirm") {
    // ConfirmModel came with commit-confirm (1.5, 2025); before it the op is not in the union.
    if (options_.profile != vy::Version::k15 || !options_.confirm_time)
      return Fail(400, PydanticError("literal_error", "'op'",
                                     "Input should be 'set', 'delete' or 'comment'"));
    return Confirm();
  }
  std::lock_guard api(api_lock_);
  for (const auto& c : pc.commands)
    if (c.op != "set" && c.op != "delete" && c.op != "comment")
      return Fail(400, "'" + c.op + "' is not a valid operation");
  Node working;
  {
    std::lock_guard lk(mu_);
    working = running_;
    stats_.ops += static_cast<int64_t>(pc.commands.size());
  }
  for (const auto& c : pc.commands) {
    if (c.path.empty())
      return Fail(400, PydanticError("too_short", "'path'", "List should have at least 1 item"));
    Status st;
    if (c.op == "set")
      st = SessionSet(working, c.path, c.value);
    else if (c.op == "delete")
      st = SessionDelete(working, c.path, c.value, options_.strict);
    if (!st) return Fail(400, st.error().message);  // the session is discarded
  }
  Sleep(Latency().op_ms * static_cast<double>(pc.commands.size()));
  return ToReply(Commit(std::move(working), pc.confirm_time));
}

SimReply VyosSim::ToReply(const Outcome& o) {
  if (o.drop) {
    SimReply r;
    r.drop = true;
    return r;
  }
  if (o.status != 200) return Fail(o.status, o.error);
  if (o.after == "504") return Nginx(504, "504 Gateway Time-out");
  if (o.after == "500") return Fail(500, "An internal error occured. Check the logs for details.");
  return o.text ? OkText(*o.text) : Ok("null");
}

VyosSim::Outcome VyosSim::Commit(Node working, int confirm_minutes, const std::string& via,
                                 const std::string& comment, const std::string& user) {
  auto fail = [](const std::string& e) { return Outcome{400, e, std::nullopt, false, ""}; };
  auto arm = [&](const Node& revert_to) {  // under mu_
    confirm_pending_ = true;
    confirm_deadline_ = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(options_.confirm_minute_ms * confirm_minutes);
    confirm_revert_to_ = revert_to;
    ++stats_.commit_confirms;
    timer_cv_.notify_all();
  };
  {
    std::lock_guard lk(mu_);
    if (confirm_minutes > 0 && confirm_pending_) return fail("Another confirm is pending\n");
    // Builds whose handler calls commit_confirm() before commit() arm the timer first: a commit
    // that then fails leaves it armed (research/vyos-conformance.md A4).
    if (confirm_minutes > 0 && options_.arm_first) arm(running_);
    if (faults_.lock_busy > 0) {
      --faults_.lock_busy;
      return fail("Configuration system temporarily locked due to another commit in progress\n");
    }
  }
  if (auto err = schema_.CommitCheck(working))
    return fail(*err + "\n\n[[nat]] failed\nCommit failed\n");
  {
    std::lock_guard lk(mu_);
    if (faults_.fail_commits > 0) {
      --faults_.fail_commits;
      return fail(faults_.fail_message + "\n\n[[nat]] failed\nCommit failed\n");
    }
  }
  {
    auto lat = Latency();
    Sleep(lat.commit_ms + lat.commit_per_rule_ms * RuleCount(working));
  }
  Outcome out;
  {
    std::lock_guard lk(mu_);
    Node previous = std::move(running_);
    running_ = std::move(working);
    ++stats_.commits;
    char when[32];
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    commit_log_.push_back({when, user, via, comment});
    if (confirm_minutes > 0 && !options_.arm_first) arm(previous);
    if (faults_.after_commit_count > 0) {
      --faults_.after_commit_count;
      out.after = faults_.after_commit;
    }
  }
  if (out.after == "drop") out.drop = true;
  if (confirm_minutes > 0)
    out.text = "Initialized commit-confirm; " + std::to_string(confirm_minutes) +
               " minutes to confirm before " + options_.confirm_action;
  return out;
}

SimReply VyosSim::ConfigFile(const ParsedCommands& pc) {
  {
    std::lock_guard lk(mu_);
    ++stats_.config_file;
  }
  const std::string op = pc.is_list ? "" : pc.op;
  if (op == "confirm") {
    if (options_.profile != vy::Version::k15 || !options_.confirm_time)
      return Fail(400, PydanticError("literal_error", "'op'", "Input should be 'save' or 'load'"));
    return Confirm();
  }
  if (op == "save") {
    std::lock_guard lk(mu_);
    if (faults_.fail_saves > 0) {
      --faults_.fail_saves;
      return Fail(400, "Failed to save configuration: No space left on device\n");
    }
    saved_ = vy::RenderBoot(running_, Release());
    ++stats_.saves;
    std::string file = pc.file.value_or("/config/config.boot");
    if (!options_.saved_path.empty()) {
      std::ofstream out(options_.saved_path);
      out << saved_;
    }
    return OkText("Saving configuration to '" + file + "'...\nDone\n");
  }
  if (op == "load") {
    std::string text;
    if (pc.string) {
      text = *pc.string;
    } else if (pc.file) {
      std::ifstream in(*pc.file);
      if (!in) return Fail(400, "Failed to load configuration file " + *pc.file + "\n");
      std::stringstream ss;
      ss << in.rdbuf();
      text = ss.str();
    } else {
      return Fail(400, "Missing required field \"file | string\"");
    }
    auto tree = vy::ParseBoot(text);
    if (!tree)
      return Fail(400, "Failed to parse configuration file: " + tree.error().message + "\n");
    schema_.Migrate(*tree);
    std::lock_guard api(api_lock_);
    return ToReply(Commit(std::move(*tree), pc.confirm_time));
  }
  return Fail(400, "'" + op + "' is not a valid operation");
}

SimReply VyosSim::Control(const SimRequest& req) {
  std::string path = req.target.substr(0, req.target.find('?'));
  std::string query =
      req.target.find('?') == std::string::npos ? "" : req.target.substr(req.target.find('?') + 1);
  SimReply json{200, "application/json", ""};
  if (path == "/_sim/stats" && req.method == "GET") {
    std::lock_guard lk(mu_);
    json.body = StatsJson(stats_, confirm_pending_);
    return json;
  }
  if (path == "/_sim/stats/reset" && req.method == "POST") {
    ResetStats();
    json.body = "{}";
    return json;
  }
  if (path == "/_sim/reboot" && req.method == "POST") {
    Reboot();
    json.body = "{}";
    return json;
  }
  if (path == "/_sim/config" && req.method == "GET") {
    auto q = ParseUrlEncoded(query);
    std::string fmt = q.count("format") ? q["format"] : "commands";
    return SimReply{200, "text/plain", RenderRunning(fmt)};
  }
  if (path == "/_sim/config" && req.method == "POST") {
    auto st = ApplyOutOfBand(req.body);
    if (!st) return SimReply{400, "text/plain", st.error().message};
    json.body = "{}";
    return json;
  }
  if (path == "/_sim/faults" && req.method == "POST") {
    rapidjson::Document d;
    d.Parse(req.body.c_str(), req.body.size());
    if (d.HasParseError() || !d.IsObject())
      return SimReply{400, "text/plain", "faults must be a JSON object"};
    std::lock_guard lk(mu_);
    auto num = [&](const char* k, int* out) {
      if (d.HasMember(k) && d[k].IsInt()) *out = d[k].GetInt();
    };
    num("lock_busy", &faults_.lock_busy);
    num("fail_commits", &faults_.fail_commits);
    num("after_commit_count", &faults_.after_commit_count);
    num("slow_ms", &faults_.slow_ms);
    num("slow_count", &faults_.slow_count);
    num("corrupt_readback", &faults_.corrupt_readback);
    num("fail_confirm", &faults_.fail_confirm);
    num("corrupt_skip", &faults_.corrupt_skip);
    num("fail_saves", &faults_.fail_saves);
    num("answer_count", &faults_.answer_count);
    num("answer_skip", &faults_.answer_skip);
    if (d.HasMember("answer_body") && d["answer_body"].IsString())
      faults_.answer_body = d["answer_body"].GetString();
    if (d.HasMember("after_commit") && d["after_commit"].IsString())
      faults_.after_commit = d["after_commit"].GetString();
    if (d.HasMember("fail_message") && d["fail_message"].IsString())
      faults_.fail_message = d["fail_message"].GetString();
    if (d.HasMember("slow_path") && d["slow_path"].IsString())
      faults_.slow_path = d["slow_path"].GetString();
    if (d.HasMember("reject_values") && d["reject_values"].IsArray()) {
      faults_.reject_values.clear();
      for (const auto& v : d["reject_values"].GetArray())
        if (v.IsString()) faults_.reject_values.emplace_back(v.GetString());
    }
    json.body = "{}";
    return json;
  }
  if (path == "/_sim/latency" && req.method == "POST") {
    rapidjson::Document d;
    d.Parse(req.body.c_str(), req.body.size());
    if (d.HasParseError() || !d.IsObject())
      return SimReply{400, "text/plain", "latency must be a JSON object"};
    LatencyModel m = Latency();
    auto num = [&](const char* k, double* out) {
      if (d.HasMember(k) && d[k].IsNumber()) *out = d[k].GetDouble();
    };
    num("request_ms", &m.request_ms);
    num("op_ms", &m.op_ms);
    num("commit_ms", &m.commit_ms);
    num("commit_per_rule_ms", &m.commit_per_rule_ms);
    num("scale", &m.scale);
    SetLatency(m);
    json.body = "{}";
    return json;
  }
  return SimReply{404, "text/plain", "unknown control endpoint"};
}

Status VyosSim::LoadConfig(std::string_view text, bool set_commands) {
  Node tree;
  std::vector<std::string> foreign;
  if (set_commands) {
    auto t = schema_.LoadCommands(text, &foreign);
    if (!t) return tl::unexpected(t.error());
    tree = std::move(*t);
  } else {
    auto parsed = vy::ParseBoot(text);
    if (!parsed) return tl::unexpected(parsed.error());
    tree = std::move(*parsed);
    schema_.Migrate(tree);
  }
  std::lock_guard lk(mu_);
  // Keep the API keys so the emulator stays reachable.
  const Node* https = running_.At({"service", "https"});
  Node keep = https ? *https : Node{};
  running_ = std::move(tree);
  running_.kids["service"].kids["https"] = keep;
  foreign_ = std::move(foreign);
  saved_ = vy::RenderBoot(running_, Release());
  return {};
}

Status VyosSim::ApplyOutOfBand(std::string_view commands) {
  std::lock_guard api(api_lock_);
  Node working;
  {
    std::lock_guard lk(mu_);
    working = running_;
  }
  // "set ..." and "delete ..." lines, as another admin would type them.
  size_t start = 0;
  while (start < commands.size()) {
    size_t nl = commands.find('\n', start);
    auto line =
        commands.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? commands.size() : nl + 1;
    auto words = vy::Words(line);
    if (words.empty()) continue;
    std::vector<std::string> path(words.begin() + 1, words.end());
    Status st;
    if (words[0] == "set")
      st = schema_.Set(working, path, std::nullopt);
    else if (words[0] == "delete")
      st = schema_.Delete(working, path, std::nullopt, false);
    else
      return MakeError(ErrorCode::kInvalidArgument, "unknown command '" + words[0] + "'");
    if (!st) return st;
  }
  if (auto err = schema_.CommitCheck(working)) return MakeError(ErrorCode::kRejected, *err);
  std::lock_guard lk(mu_);
  running_ = std::move(working);
  ++stats_.commits;
  return {};
}

void VyosSim::Reboot() {
  std::lock_guard lk(mu_);
  auto saved = vy::ParseBoot(saved_);
  if (saved) running_ = *saved;
  confirm_pending_ = false;
  timer_cv_.notify_all();
}

Node VyosSim::RunningTree() const {
  std::lock_guard lk(mu_);
  return running_;
}

std::string VyosSim::RenderRunning(std::string_view format) const {
  std::lock_guard lk(mu_);
  if (format == "boot") return vy::RenderBoot(running_, Release());
  if (format == "json") return vy::RenderJson(running_);
  std::string out = vy::RenderCommands(running_);
  for (const auto& l : foreign_) out += l + "\n";
  return out;
}

SimStats VyosSim::Stats() const {
  std::lock_guard lk(mu_);
  return stats_;
}

void VyosSim::ResetStats() {
  std::lock_guard lk(mu_);
  stats_ = SimStats{};
}

void VyosSim::SetFaults(const Faults& f) {
  std::lock_guard lk(mu_);
  faults_ = f;
}

Faults VyosSim::CurrentFaults() const {
  std::lock_guard lk(mu_);
  return faults_;
}

void VyosSim::SetLatency(const LatencyModel& m) {
  std::lock_guard lk(mu_);
  options_.latency = m;
}

bool VyosSim::ConfirmPending() const {
  std::lock_guard lk(mu_);
  return confirm_pending_;
}

void VyosSim::CliLatency(int ops) const {
  const auto lat = Latency();
  Sleep(lat.request_ms + lat.op_ms * ops);
}

std::string VyosSim::CommitLog() const {
  std::lock_guard lk(mu_);
  std::string out;
  for (size_t i = commit_log_.size(); i-- > 0;) {
    const auto& e = commit_log_[i];
    out += std::to_string(commit_log_.size() - 1 - i) + "   " + e.when + " by " + e.user + " via " +
           e.via + "\n";
    if (!e.comment.empty()) out += "    " + e.comment + "\n";
  }
  return out;
}

Node VyosSim::SavedTree() const {
  std::lock_guard lk(mu_);
  auto t = vy::ParseBoot(saved_);
  return t ? *t : Node{};
}

Result<std::string> VyosSim::CliCommit(const Node& working, int confirm_minutes,
                                       const std::string& comment, const std::string& user) {
  Outcome o;
  {
    std::lock_guard api(api_lock_);
    o = Commit(working, confirm_minutes, "cli", comment, user);
  }
  if (o.status == 200 || o.drop) return o.text.value_or(std::string());
  return MakeError(ErrorCode::kRejected, o.error);
}

std::string VyosSim::CliConfirm() {
  std::lock_guard lk(mu_);
  if (!confirm_pending_) return "No confirm pending";
  confirm_pending_ = false;
  ++stats_.confirms;
  timer_cv_.notify_all();
  return options_.confirm_action == "reboot" ? "Reboot timer stopped" : "Reload timer stopped";
}

Result<std::string> VyosSim::CliSave() {
  std::lock_guard lk(mu_);
  if (faults_.fail_saves > 0) {
    --faults_.fail_saves;
    return MakeError(ErrorCode::kRejected, "Failed to save configuration: No space left on device");
  }
  saved_ = vy::RenderBoot(running_, Release());
  ++stats_.saves;
  if (!options_.saved_path.empty()) std::ofstream(options_.saved_path) << saved_;
  return std::string("Saving configuration to '/config/config.boot'...\nDone\n");
}

namespace {

/// The VyOS CLI as an SSH session sees it: op mode `user@host:~$`, configuration mode with the
/// `[edit]` line and `user@host#`, a private working configuration, and the commit-confirm
/// question.
class VyosTerminal : public Terminal {
 public:
  VyosTerminal(VyosSim& sim, std::string user) : sim_(sim), user_(std::move(user)) {}

  Output Start() override {
    return {"Welcome to VyOS!\n\n   Version: " + sim_.version() + "\n\n" + Prompt()};
  }

  std::pair<std::string, int> Exec(const std::string& command) override {
    auto w = vy::Words(command);
    if (w.empty()) return {"", 0};
    sim_.CliLatency(0);
    std::string out = OpCommand(w, command);
    return {out, out.find("Invalid command") != std::string::npos ? 1 : 0};
  }

  Output OnLine(const std::string& line) override {
    if (asking_) {
      asking_ = false;
      if (line != "y" && line != "Y" && line != "yes" && !line.empty())
        return {"commit-confirm canceled\n[edit]\n" + Prompt()};
      auto r = sim_.CliCommit(working_, confirm_minutes_, "", user_);
      return {Result(r) + "[edit]\n" + Prompt()};
    }
    sim_.CliLatency(0);
    if (!line.empty() && line.back() == '?')
      return {Help(line.substr(0, line.size() - 1)) + (config_ ? "[edit]\n" : "") + Prompt()};
    auto w = vy::Words(line);
    if (w.empty()) return {config_ ? "[edit]\n" + Prompt() : Prompt()};
    // Configuration mode reaches operational commands only through `run`.
    if (config_ && w[0] == "run") {
      w.erase(w.begin());
      if (w.empty()) return {"\n  Invalid command\n\n[edit]\n" + Prompt()};
      return {OpCommand(w, line) + "[edit]\n" + Prompt()};
    }
    if (!config_) {
      if (Join(w) == "configure") {
        config_ = true;
        working_ = sim_.RunningTree();
        return {"[edit]\n" + Prompt()};
      }
      if (Join(w) == "exit") return {"logout\n", true, false, 0};
      return {OpCommand(w, line) + Prompt()};
    }
    const std::string cmd = Join(w);
    if (w[0] == "show") {
      // `show [path]` in configuration mode: the candidate, in curly syntax, under that path.
      std::vector<std::string> path(w.begin() + 1, w.end());
      const vy::Node* n = working_.At(path);
      if (!path.empty() && !sim_.KnownPath(path))
        return {"\n  Configuration path: [" + Join(path) +
                "] is not valid\n  Show failed\n\n[edit]\n" + Prompt()};
      if (!n || (n->kind != vy::Node::Kind::kLeaf && n->kids.empty()))
        return {"\n  Configuration under specified path is empty\n\n[edit]\n" + Prompt()};
      vy::Node wrap;
      if (n->kind == vy::Node::Kind::kLeaf && !path.empty()) wrap.kids[path.back()] = *n;
      return {vy::RenderCurly(n->kind == vy::Node::Kind::kLeaf ? wrap : *n) + "[edit]\n" +
              Prompt()};
    }
    if (w[0] == "set" || w[0] == "delete") {
      sim_.CliLatency(1);
      std::vector<std::string> path(w.begin() + 1, w.end());
      if (path.empty()) return {"\n  Invalid command\n\n[edit]\n" + Prompt()};
      Status st = w[0] == "set" ? sim_.SessionSet(working_, path, std::nullopt)
                                : sim_.SessionDelete(working_, path, std::nullopt, false);
      if (!st) return {st.error().message + "\n[edit]\n" + Prompt()};
      return {"[edit]\n" + Prompt()};
    }
    if (w[0] == "commit" && w.size() == 3 && w[1] == "comment") {
      if (working_ == sim_.RunningTree())
        return {"No configuration changes to commit\n[edit]\n" + Prompt()};
      return {Result(sim_.CliCommit(working_, 0, w[2], user_)) + "[edit]\n" + Prompt()};
    }
    if (cmd == "compare saved") {
      std::string out =
          Diff(vy::RenderCommands(sim_.SavedTree()), vy::RenderCommands(sim_.RunningTree()));
      return {out + "[edit]\n" + Prompt()};
    }
    if (cmd == "commit" || w[0] == "commit-confirm") {
      if (working_ == sim_.RunningTree())
        return {"No configuration changes to commit\n[edit]\n" + Prompt()};
      if (w[0] == "commit-confirm") {
        confirm_minutes_ = w.size() > 1 ? std::atoi(w[1].c_str()) : 10;
        if (confirm_minutes_ < 1) return {"\n  Invalid value for minutes\n\n[edit]\n" + Prompt()};
        asking_ = true;
        return {
            "commit-confirm will automatically reboot in " + std::to_string(confirm_minutes_) +
            " minutes unless changes are confirmed.\n" +
            (sim_.profile() == vy::Version::k13 ? "Proceed ? [confirm][y] " : "Proceed? [Y/n] ")};
      }
      return {Result(sim_.CliCommit(working_, 0, "", user_)) + "[edit]\n" + Prompt()};
    }
    if (cmd == "confirm") return {sim_.CliConfirm() + "\n[edit]\n" + Prompt()};
    if (cmd == "save") {
      auto r = sim_.CliSave();
      return {(r ? *r : r.error().message + "\n") + "[edit]\n" + Prompt()};
    }
    if (cmd == "compare") {
      const std::string out =
          Diff(vy::RenderCommands(sim_.RunningTree()), vy::RenderCommands(working_));
      return {(out.empty() ? "No changes between working and active configurations.\n" : out) +
              "[edit]\n" + Prompt()};
    }
    if (cmd == "discard") {
      working_ = sim_.RunningTree();
      return {"  Changes have been discarded\n[edit]\n" + Prompt()};
    }
    if (cmd == "exit" || cmd == "exit discard" || cmd == "end") {
      if (cmd != "exit discard" && !(working_ == sim_.RunningTree()))
        return {
            "Cannot exit: configuration modified.\nUse 'exit discard' to discard the changes and "
            "exit.\n[edit]\n" +
            Prompt()};
      config_ = false;
      return {"exit\n" + Prompt()};
    }
    return {"\n  Invalid command: [" + w[0] + "]\n\n[edit]\n" + Prompt()};
  }

 private:
  // An operational command (op mode, or `run` in configuration mode), with VyOS's pipes.
  std::string OpCommand(const std::vector<std::string>& w, const std::string& line) {
    std::string text = line;
    while (!text.empty() && (text.front() == ' ')) text.erase(0, 1);
    if (text.rfind("run ", 0) == 0) text = text.substr(4);
    std::vector<std::string> pipes;
    if (auto bar = text.find('|'); bar != std::string::npos) {
      std::stringstream ps(text.substr(bar + 1));
      for (std::string p; std::getline(ps, p, '|');) pipes.push_back(p);
      text = text.substr(0, bar);
    }
    const auto cw = vy::Words(text);
    const std::string cmd = Join(cw);
    std::string out;
    if (cmd == "show configuration commands")
      out = sim_.RenderRunning("commands");
    else if (cmd == "show configuration")
      out = vy::RenderCurly(sim_.RunningTree());
    else if (cmd == "show version")
      out = "Version:          VyOS " + sim_.version() + "\n";
    else if (cmd == "show host name")
      out = sim_.hostname() + "\n";
    else if (cmd == "show system commit")
      out = sim_.CommitLog();
    else if (cmd.rfind("set terminal length ", 0) == 0 ||
             cmd.rfind("set terminal width ", 0) == 0 || cmd == "terminal length 0")
      out = "";
    else if (cw.size() > 1 && (cw[0] == "show" || cw[0] == "set"))
      return "\n  Invalid command: " + cw[0] + " [" + cw[1] +
             "]\n\n";  // VyOS names the word it stopped at
    else
      return "\n  Invalid command: [" + (w.empty() ? std::string() : w[0]) + "]\n\n";
    for (const auto& p : pipes) {
      auto pw = vy::Words(p);
      if (pw.empty() || pw[0] == "no-more" || pw[0] == "strip-private" || pw[0] == "more") continue;
      if ((pw[0] == "grep" || pw[0] == "match") && pw.size() >= 2) {
        std::string filtered;
        std::stringstream ls(out);
        for (std::string l; std::getline(ls, l);)
          if (l.find(pw.back()) != std::string::npos) filtered += l + "\n";
        out = filtered;
        continue;
      }
      return "\n  Invalid command: [" + pw[0] + "]\n\n";
    }
    return out;
  }
  // `?`: the words that may come next.
  std::string Help(const std::string& before) const {
    const auto w = vy::Words(before);
    std::vector<std::string> next;
    if (w.empty()) {
      next = config_ ? std::vector<std::string>{"comment", "commit",  "commit-confirm",
                                                "compare", "confirm", "delete",
                                                "discard", "exit",    "run",
                                                "save",    "set",     "show"}
                     : std::vector<std::string>{"configure", "exit", "set", "show"};
    } else if (w[0] == "show" && !config_) {
      next = {"configuration", "host", "system", "version"};
    } else if (w[0] == "set" || w[0] == "delete" || (w[0] == "show" && config_)) {
      next = {"firewall", "interfaces", "nat", "service", "system"};
    } else if (w[0] == "commit") {
      next = {"comment"};
    }
    std::string out = "\nPossible completions:\n";
    for (const auto& n : next) out += "  " + n + "\n";
    return out + "\n";
  }
  static std::string Diff(const std::string& before_text, const std::string& after_text) {
    const auto before = Lines(before_text);
    const auto after = Lines(after_text);
    std::string out;
    for (const auto& l : before)
      if (!after.count(l)) out += "- " + l + "\n";
    for (const auto& l : after)
      if (!before.count(l)) out += "+ " + l + "\n";
    return out;
  }
  static std::string Join(const std::vector<std::string>& w) {
    std::string s;
    for (const auto& x : w) s += (s.empty() ? "" : " ") + x;
    return s;
  }
  static std::set<std::string> Lines(const std::string& text) {
    std::set<std::string> out;
    std::stringstream ss(text);
    for (std::string l; std::getline(ss, l);) out.insert(l);
    return out;
  }
  std::string Result(const nc::sim::Result<std::string>& r) {
    if (!r) return "\n" + r.error().message + "\n";
    working_ = sim_.RunningTree();
    return r->empty() ? std::string() : *r + "\n";
  }
  std::string Prompt() const { return user_ + "@" + sim_.hostname() + (config_ ? "# " : ":~$ "); }

  VyosSim& sim_;
  std::string user_;
  bool config_ = false;
  bool asking_ = false;
  int confirm_minutes_ = 0;
  Node working_;
};

}  // namespace

std::unique_ptr<Terminal> VyosSim::NewTerminal(const std::string& user) {
  return std::make_unique<VyosTerminal>(*this, user);
}

}  // namespace nc::sim

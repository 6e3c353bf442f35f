// JSON views of device status, passes, reports and events, shared by the CLI's `-o json` and the
// admin API's answers (one shape for both), written with RapidJSON's PrettyWriter.
#pragma once

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <string>
#include <vector>

#include "controller/reconcilers/device_reconciler.hpp"
#include "controller/store/store.hpp"

namespace nc::manager {

/// The text a Json writer writes, straight into a std::string (an answer is then moved into the
/// response, never copied: a fleet's /v1/devices is tens of MB).
struct JsonText {
  using Ch = char;
  std::string text;
  void Put(char c) { text.push_back(c); }
  void Flush() {}
  const char* GetString() const { return text.c_str(); }
  size_t GetSize() const { return text.size(); }
};
using Json = rapidjson::PrettyWriter<JsonText>;

void JStr(Json& w, const char* k, const std::string& v);
void JList(Json& w, const char* k, const std::vector<std::string>& v);
void JList(Json& w, const char* k, const core::OpLog& v);
/// "namespace/name" for a name as a user types it: "edge1" is "<ns>/edge1", "prod/edge1" stays.
std::string QualifiedName(const std::string& name, const std::string& ns = "default");
/// The fields of a device's status shared by `status -o json`, /v1/devices and /v1/health.
/// With the device's operator override (netconverge phase / fallback), or null: the management
/// phase in force, `paused`, and the override (value, who, when) or null.
void DeviceFields(Json& w, const store::DeviceStatusRow& d,
                  const store::DeviceOverride* override_ = nullptr);
/// The device's entry of Overrides(), or null.
const store::DeviceOverride* OverrideOf(
    const Result<std::map<std::string, store::DeviceOverride>>& all, const std::string& device);
/// One device in `status -o json` and /v1/devices: its fields and (with_ports) its ports.
void WriteDeviceStatus(Json& w, const store::DeviceStatusRow& d,
                       const std::vector<store::PortStatusRow>& ports, bool with_ports = true,
                       const store::DeviceOverride* override_ = nullptr);
/// One device's pass in `apply|plan -o json` and the plan route: changes, operations, report.
void WriteDeviceResult(Json& w, const std::string& key, const reconcilers::DeviceResult& r);
void WriteEvent(Json& w, const store::Event& e);
/// One run in `history -o json` and /v1/devices/{name}/runs, /v1/runs/{id}; with `operations`,
/// the lines it sent.
void WriteRun(Json& w, const store::Run& run, const std::vector<std::string>* operations);
/// {"device", "runs": [...]}: `history -o json` and /v1/devices/{name}/runs.
void WriteRuns(Json& w, const std::string& device, const std::vector<store::Run>& runs);
/// "report": the seed API's {added, deleted, updated, no_change} (+ not_applied on failure).
void WriteReport(Json& w, const reconcilers::SyncReport& report, bool with_not_applied);

}  // namespace nc::manager

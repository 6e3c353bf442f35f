// Desired state from a manifests directory (GitOps / standalone): every *.yaml / *.yml below
// the directory, multi-document files allowed. Reload() re-reads it; a file that stops parsing
// or validating keeps its previous good content in force, so a broken file is never read as
// "those resources were deleted". A broken file without earlier good content (e.g. at start-up)
// holds back every deletion until it is fixed.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "controller/api/v1alpha1/types.hpp"
#include "controller/core/model.hpp"
#include "controller/core/shard.hpp"
#include "controller/core/validate.hpp"
#include "controller/core/values.hpp"

namespace nc::source {

/// The system's service names (/etc/services, as VyOS reads them); empty when the file is missing.
core::ServiceTable LoadServices(const std::string& path = "/etc/services");

/// Reads and decodes every manifest file below `dir` (sorted). Problems include unreadable files.
struct DirectoryContents {
  std::map<std::string, api::Manifests> files;  // decodable files
  std::map<std::string, std::string> hashes;    // file -> content hash (all files read)
  std::vector<api::Problem> problems;           // decode problems
  std::vector<std::string> broken_files;        // files that failed to decode
};
DirectoryContents ReadDirectory(const std::string& dir);

/// The manifest files below `dir`, read but not decoded (so an unchanged directory costs a read
/// and a hash per file, no YAML parse).
struct DirectoryTexts {
  std::map<std::string, std::string> texts;   // readable files within the size limit
  std::map<std::string, std::string> hashes;  // file -> content hash (all files read)
  std::vector<api::Problem> problems;         // unreadable or too large
  std::vector<std::string> broken_files;
};
/// The manifest files below `dir` (.yaml and .yml, not hidden), sorted: one walk of the tree.
std::vector<std::string> ManifestFiles(const std::string& dir);
DirectoryTexts ReadTexts(const std::string& dir);
/// Reads `files` (ManifestFiles of `dir`, walked once for the stamps and the read).
DirectoryTexts ReadTexts(const std::string& dir, const std::vector<std::string>& files);

/// What a file looks like without reading it: a reload whose stamps are all as before reads
/// nothing (a fleet's manifests directory is watched every second).
struct FileStamp {
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;  // also moves on chmod (an unreadable file made readable)
  uintmax_t size = 0;
  uintmax_t inode = 0;
  bool operator==(const FileStamp&) const = default;
};
/// The stamps of the manifest files below `dir` (the files ReadTexts would read).
std::map<std::string, FileStamp> Stamps(const std::string& dir);
std::map<std::string, FileStamp> Stamps(const std::vector<std::string>& files);
/// Decodes what ReadTexts read.
DirectoryContents Decode(DirectoryTexts texts);

/// Everything in `dir` validated together, no fallbacks: what `netconverge validate` reports.
core::ValidationResult ValidateDirectory(const std::string& dir,
                                         const core::ServiceTable& services);

class DirectorySource {
 public:
  /// `settle`: a change is taken only once every changed file (and the directory of a removed
  /// one) has been left alone that long, so that a file an editor or a GitOps tool is writing
  /// in several steps (emptied, then filled) is never read half-written.
  DirectorySource(std::string dir, core::ServiceTable services,
                  std::chrono::milliseconds settle = std::chrono::milliseconds(0));

  struct ReloadReport {
    bool changed = false;                      // the desired state differs from before
    std::vector<std::string> changed_devices;  // device keys whose desired state changed
    std::vector<api::Problem> problems;        // current problems (all files)
    std::vector<std::string> kept_files;       // files whose previous good content stays in force
    std::string settling;     // non-empty: a change was seen and is not taken yet (the file)
    bool read_files = false;  // contents were read (else every file's stamp was unchanged)
  };
  /// Re-reads the directory. Cheap when nothing changed (content hashes).
  ReloadReport Reload();
  /// The current desired state; shared and immutable, so a pass never copies it.
  std::shared_ptr<const core::DesiredState> Desired() const;
  const std::string& dir() const { return dir_; }
  /// Only the devices of this shard (and their resources) are desired (before the first Reload).
  void SetShard(core::ShardSpec shard) { shard_ = shard; }

 private:
  core::ShardSpec shard_;
  /// A changed or removed file still fresh (modified less than `settle_` ago), else "". Under mu_.
  std::string Settling(const std::map<std::string, std::string>& hashes) const;
  /// Under mu_: every file's stamp as at the last read, none modified in the last moments.
  bool Untouched(const std::map<std::string, FileStamp>& stamps) const;
  /// Under mu_: validates the new content; files with problems (added to `failed`, their
  /// problems to `problems`) fall back to their last good content, as often as needed. The
  /// decoded objects are moved out of `contents.files` (a fleet's objects are never held twice);
  /// a second round decodes the files it needs again from `texts`.
  core::ValidationResult ValidateWithFallbacks(DirectoryContents& contents,
                                               const std::map<std::string, std::string>& texts,
                                               std::set<std::string>& failed,
                                               std::vector<api::Problem>& problems);

  std::string dir_;
  core::ServiceTable services_;
  std::chrono::milliseconds settle_;
  mutable std::mutex mu_;
  // Last good content per file, as text: decoded again only if the file breaks later (the
  // decoded objects, with every field's position, are many times the size of the text).
  std::map<std::string, std::string> good_;
  std::map<std::string, std::string> hashes_;
  std::map<std::string, FileStamp> stamps_;  // as of the last read of the texts
  std::shared_ptr<const core::DesiredState> desired_ = std::make_shared<core::DesiredState>();
  uint64_t generation_ = 0;
  std::vector<api::Problem> problems_;
  bool loaded_ = false;
};

}  // namespace nc::source

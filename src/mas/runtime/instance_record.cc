#include "mas/runtime/instance_record.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace grid::mas::runtime {
namespace {

using Json = nlohmann::json;

Result<RestartPolicy> ParseRestartPolicy(const std::string& name) {
  for (RestartPolicy p : {RestartPolicy::kInPlace, RestartPolicy::kReplace, RestartPolicy::kNever}) {
    if (name == RestartPolicyName(p)) return p;
  }
  return Corruption("unknown restart policy \"" + name + "\"");
}

Status WriteAll(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("writing " + path, errno);
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status SyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("opening " + dir, errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus("syncing " + dir, err);
  return Status::Ok();
}

}  // namespace

const char* RestartPolicyName(RestartPolicy policy) {
  switch (policy) {
    case RestartPolicy::kInPlace: return "InPlace";
    case RestartPolicy::kReplace: return "Replace";
    case RestartPolicy::kNever: return "Never";
  }
  return "Unknown";
}

std::string EncodeInstanceRecord(const InstanceRecord& r) {
  const int64_t started_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 r.started_at.time_since_epoch())
                                 .count();
  Json j = {
      {"format", kInstanceRecordFormat},
      {"spec",
       {{"name", r.spec.name},
        {"engine", r.spec.engine},
        {"version", r.spec.version},
        {"args", r.spec.args},
        {"labels", r.spec.labels},
        {"restart", RestartPolicyName(r.spec.restart)}}},
      {"want_running", r.want_running},
      {"pid", r.process.pid},
      {"start_ticks", r.process.start_ticks},
      {"incarnation", r.incarnation},
      {"restarts", r.restarts},
      {"last_exit", r.last_exit},
      {"started_at_unix_ms", started_ms},
  };
  return j.dump(2) + "\n";
}

Result<InstanceRecord> DecodeInstanceRecord(const std::string& text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Corruption("not a JSON object");
  try {
    if (j.at("format").get<int>() != kInstanceRecordFormat) {
      return Corruption("unknown format " + j.at("format").dump());
    }
    InstanceRecord r;
    const Json& spec = j.at("spec");
    r.spec.name = spec.at("name").get<std::string>();
    r.spec.engine = spec.at("engine").get<std::string>();
    r.spec.version = spec.at("version").get<std::string>();
    r.spec.args = spec.at("args").get<std::vector<std::string>>();
    if (spec.contains("labels")) {  // absent in records written before labels existed
      r.spec.labels = spec.at("labels").get<std::map<std::string, std::string>>();
    }
    GRID_ASSIGN_OR_RETURN(r.spec.restart,
                          ParseRestartPolicy(spec.at("restart").get<std::string>()));
    r.want_running = j.at("want_running").get<bool>();
    r.process.pid = j.at("pid").get<int>();
    r.process.start_ticks = j.at("start_ticks").get<uint64_t>();
    r.incarnation = j.at("incarnation").get<int64_t>();
    r.restarts = j.at("restarts").get<int64_t>();
    r.last_exit = j.at("last_exit").get<std::string>();
    r.started_at = std::chrono::system_clock::time_point(
        std::chrono::milliseconds(j.at("started_at_unix_ms").get<int64_t>()));
    if (std::string e = InstanceNameError(r.spec.name); !e.empty()) return Corruption(e);
    if (r.spec.args.size() > kMaxInstanceArgs) return Corruption("too many args");
    if (r.spec.labels.size() > kMaxInstanceLabels) return Corruption("too many labels");
    return r;
  } catch (const Json::exception& e) {
    return Corruption(e.what());
  }
}

Status WriteInstanceRecord(const std::string& dir, const InstanceRecord& record) {
  const std::string path = dir + "/" + kInstanceRecordFile;
  const std::string temp = path + ".tmp";
  const std::string data = EncodeInstanceRecord(record);
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("creating " + temp, errno);
  Status s = WriteAll(fd, data, temp);
  if (s.ok() && ::fsync(fd) != 0) s = ErrnoStatus("syncing " + temp, errno);
  ::close(fd);
  if (s.ok() && ::rename(temp.c_str(), path.c_str()) != 0) {
    s = ErrnoStatus("renaming " + temp, errno);
  }
  if (!s.ok()) {
    ::unlink(temp.c_str());
    return s;
  }
  return SyncDirectory(dir);
}

Result<InstanceRecord> ReadInstanceRecord(const std::string& dir) {
  const std::string path = dir + "/" + kInstanceRecordFile;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (::access(path.c_str(), F_OK) != 0) return NotFound(path + " does not exist");
    return IOError("cannot read " + path);
  }
  std::string text;
  char buffer[4096];
  while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxInstanceRecordBytes) {
      return Corruption(path + " is larger than " + std::to_string(kMaxInstanceRecordBytes) +
                        " bytes");
    }
  }
  Result<InstanceRecord> record = DecodeInstanceRecord(text);
  if (!record.ok()) return record.status().WithContext(path);
  return record;
}

}  // namespace grid::mas::runtime

#include "mas/api/watch_stream.h"

#include <gtest/gtest.h>

#include <sstream>
#include <vector>

namespace grid::mas::api {
namespace {

using std::chrono::milliseconds;

ResourceEvent Event(EventType type, int64_t revision, const std::string& name) {
  Result<Resource> r = ParseResource(
      "apiVersion: grid.dev/v1\nkind: KVCluster\nmetadata: {name: " + name +
      "}\nspec: {version: \"3.4.23\"}\n");
  EXPECT_TRUE(r.ok());
  return ResourceEvent{type, revision, r.value()};
}

std::vector<nlohmann::json> Lines(const std::string& data) {
  std::vector<nlohmann::json> out;
  std::istringstream in(data);
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

TEST(WatchStream, DeliversEventsInOrderAndTracksTheRevision) {
  WatchStream stream(Kind::kKVCluster, 4, 16);
  EXPECT_TRUE(stream.Next(milliseconds(0)).data.empty());
  EXPECT_EQ(stream.seen_revision(), 4);
  stream.Push({{Event(EventType::kAdded, 5, "a"), Event(EventType::kModified, 6, "a")}, {}});
  stream.Push({{Event(EventType::kDeleted, 7, "a")}, {}});
  WatchStream::Batch batch = stream.Next(milliseconds(0));
  EXPECT_FALSE(batch.end);
  std::vector<nlohmann::json> lines = Lines(batch.data);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["type"], "ADDED");
  EXPECT_EQ(lines[1]["type"], "MODIFIED");
  EXPECT_EQ(lines[2]["type"], "DELETED");
  EXPECT_EQ(stream.seen_revision(), 7);
}

TEST(WatchStream, SkipsUndecodableValuesAndGoesOn) {
  WatchStream stream(Kind::kKVCluster, 0, 16);
  stream.Push({{Event(EventType::kAdded, 5, "a")}, Corruption("bad value")});
  stream.Push({{Event(EventType::kAdded, 6, "b")}, {}});
  WatchStream::Batch batch = stream.Next(milliseconds(0));
  EXPECT_FALSE(batch.end);
  EXPECT_EQ(Lines(batch.data).size(), 2u);
}

TEST(WatchStream, EndsWithAnErrorLineWhenTheWatchFails) {
  WatchStream stream(Kind::kKVCluster, 0, 16);
  stream.Push({{}, OutOfRange("required revision has been compacted")});
  stream.Push({{Event(EventType::kAdded, 9, "late")}, {}});  // ignored after the end
  WatchStream::Batch batch = stream.Next(milliseconds(0));
  EXPECT_TRUE(batch.end);
  std::vector<nlohmann::json> lines = Lines(batch.data);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["type"], "ERROR");
  EXPECT_EQ(lines[0]["object"]["code"], 410);
  EXPECT_EQ(lines[0]["object"]["reason"], "Expired");
}

TEST(WatchStream, QueueLimitAtTheLimit) {
  constexpr size_t kLimit = 4;
  WatchStream stream(Kind::kKVCluster, 0, kLimit);
  std::vector<ResourceEvent> events;
  for (size_t i = 0; i < kLimit; ++i) events.push_back(Event(EventType::kAdded, 10 + i, "a"));
  stream.Push({events, {}});
  EXPECT_EQ(stream.queued(), kLimit);
  WatchStream::Batch full = stream.Next(milliseconds(0));
  EXPECT_FALSE(full.end);  // exactly the limit is fine
  EXPECT_EQ(Lines(full.data).size(), kLimit);

  events.push_back(Event(EventType::kAdded, 20, "a"));  // one over
  stream.Push({events, {}});
  WatchStream::Batch over = stream.Next(milliseconds(0));
  EXPECT_TRUE(over.end);
  std::vector<nlohmann::json> lines = Lines(over.data);
  ASSERT_EQ(lines.size(), kLimit + 1);  // what fitted, then the error
  EXPECT_EQ(lines.back()["type"], "ERROR");
  EXPECT_NE(lines.back()["object"]["message"].get<std::string>().find("more than 4 events"),
            std::string::npos);
}

}  // namespace
}  // namespace grid::mas::api

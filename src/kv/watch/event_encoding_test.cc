#include "kv/watch/event_encoding.h"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace grid::kv::watch {
namespace {

mvccpb::Event MakeEvent(mvccpb::Event::EventType type, bool with_prev) {
  mvccpb::Event ev;
  ev.set_type(type);
  mvccpb::KeyValue* kv = ev.mutable_kv();
  kv->set_key("/grid/routes/tenants/t09999");
  kv->set_create_revision(2);
  kv->set_mod_revision(7);
  kv->set_version(type == mvccpb::Event::DELETE ? 0 : 4);
  if (type == mvccpb::Event::PUT) kv->set_value(std::string(300, 'v'));  // multi-byte length
  kv->set_lease(0x7fffffffffffLL);
  if (with_prev) {
    mvccpb::KeyValue* prev = ev.mutable_prev_kv();
    prev->set_key(kv->key());
    prev->set_value("{\"cell\": \"c1\"}");
    prev->set_mod_revision(6);
  }
  return ev;
}

std::string Stripped(const mvccpb::Event& ev, bool with_prev_kv) {
  mvccpb::Event copy = ev;
  if (!with_prev_kv) copy.clear_prev_kv();
  return copy.SerializeAsString();
}

TEST(EventEncodingTest, MatchesTheSerializationOfACopyWithOrWithoutPrevKv) {
  for (auto type : {mvccpb::Event::PUT, mvccpb::Event::DELETE}) {
    for (bool has_prev : {false, true}) {
      for (bool with_prev_kv : {false, true}) {
        const mvccpb::Event ev = MakeEvent(type, has_prev);
        std::string out = "prefix";
        AppendEncodedEvent(ev, with_prev_kv, &out);
        EXPECT_EQ(out, "prefix" + Stripped(ev, with_prev_kv))
            << "type " << type << " has_prev " << has_prev << " with_prev_kv " << with_prev_kv;
        EXPECT_EQ(EncodedEventBytes(ev, with_prev_kv), out.size() - 6);
      }
    }
  }
}

TEST(EventEncodingTest, EmptyEventAndEventWithOnlyPrevKv) {
  std::string out;
  AppendEncodedEvent(mvccpb::Event(), false, &out);
  EXPECT_EQ(out, "");
  EXPECT_EQ(EncodedEventBytes(mvccpb::Event(), false), 0u);
  mvccpb::Event only_prev;
  only_prev.mutable_prev_kv()->set_key("k");
  out.clear();
  AppendEncodedEvent(only_prev, false, &out);
  EXPECT_EQ(out, "");
  EXPECT_EQ(EncodedEventBytes(only_prev, false), 0u);
  EXPECT_EQ(EncodedEventBytes(only_prev, true), only_prev.ByteSizeLong());
}

TEST(EventEncodingTest, AWrittenResponseIsByteForByteTheResponseWithTheEventsCopied) {
  for (bool with_prev_kv : {false, true}) {
    etcdserverpb::WatchResponse r;
    r.mutable_header()->set_revision(7);
    r.set_watch_id(3);
    r.set_fragment(true);
    etcdserverpb::WatchResponse expected = r;
    std::vector<std::shared_ptr<const mvccpb::Event>> events;
    std::vector<uint32_t> sizes;
    const std::string head = r.SerializeAsString();
    size_t total = head.size();
    for (int i = 0; i < 4; ++i) {
      auto ev = std::make_shared<const mvccpb::Event>(
          MakeEvent(i == 1 ? mvccpb::Event::DELETE : mvccpb::Event::PUT, i != 2));
      sizes.push_back(static_cast<uint32_t>(EncodedEventBytes(*ev, with_prev_kv)));
      total += EventFieldBytes(sizes.back());
      events.push_back(ev);
      mvccpb::Event* e = expected.add_events();
      *e = *ev;
      if (!with_prev_kv) e->clear_prev_kv();
    }
    std::string wire(total, '\0');
    WriteEventsResponse(head, events, sizes, with_prev_kv, reinterpret_cast<uint8_t*>(wire.data()));
    EXPECT_EQ(wire, expected.SerializeAsString()) << "with_prev_kv " << with_prev_kv;
    etcdserverpb::WatchResponse parsed;
    ASSERT_TRUE(parsed.ParseFromString(wire));
    ASSERT_EQ(parsed.events_size(), 4);
    EXPECT_EQ(parsed.events(1).type(), mvccpb::Event::DELETE);
    EXPECT_EQ(parsed.events(0).has_prev_kv(), with_prev_kv);
    EXPECT_EQ(parsed.events(3).kv().value(), std::string(300, 'v'));
    EXPECT_EQ(parsed.watch_id(), 3);
    EXPECT_TRUE(parsed.fragment());
  }
}

TEST(EventEncodingTest, AResponseWithoutEventsIsItsHead) {
  etcdserverpb::WatchResponse r;
  r.set_watch_id(1);
  const std::string head = r.SerializeAsString();
  std::string wire(head.size(), '\0');
  WriteEventsResponse(head, {}, {}, false, reinterpret_cast<uint8_t*>(wire.data()));
  EXPECT_EQ(wire, head);
}

TEST(EventEncodingDeathTest, AnEventSizedDifferentlyThanWrittenCrashes) {
  const auto ev = std::make_shared<const mvccpb::Event>(MakeEvent(mvccpb::Event::PUT, false));
  std::vector<std::shared_ptr<const mvccpb::Event>> events{ev};
  std::vector<uint32_t> sizes{static_cast<uint32_t>(EncodedEventBytes(*ev, false) - 1)};
  std::string wire(4096, '\0');
  EXPECT_DEATH(WriteEventsResponse("", events, sizes, false,
                                   reinterpret_cast<uint8_t*>(wire.data())),
               "encoded_bytes");
}

}  // namespace
}  // namespace grid::kv::watch

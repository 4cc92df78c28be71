#include "kv/watch/event_encoding.h"

#include <string>

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

TEST(EventEncodingTest, ResponseWithEncodedEventsParsesAsOrdinaryEvents) {
  etcdserverpb::WatchResponse r;
  r.mutable_header()->set_revision(7);
  r.set_watch_id(3);
  r.set_fragment(true);
  etcdserverpb::WatchResponse expected = r;
  size_t field_bytes = 0;
  for (int i = 0; i < 3; ++i) {
    const mvccpb::Event ev = MakeEvent(i == 1 ? mvccpb::Event::DELETE : mvccpb::Event::PUT, true);
    std::string encoded;
    AppendEncodedEvent(ev, false, &encoded);
    field_bytes += EventFieldBytes(encoded.size());
    AddEncodedEvent(std::move(encoded), &r);
    mvccpb::Event* e = expected.add_events();
    *e = ev;
    e->clear_prev_kv();
  }
  EXPECT_EQ(r.events_size(), 0);  // in this process they are unknown fields
  const std::string wire = r.SerializeAsString();
  EXPECT_EQ(wire, expected.SerializeAsString());  // byte for byte, field order included
  EXPECT_EQ(r.ByteSizeLong(), expected.ByteSizeLong());
  etcdserverpb::WatchResponse header_only = expected;
  header_only.clear_events();
  EXPECT_EQ(header_only.ByteSizeLong() + field_bytes, expected.ByteSizeLong());
  etcdserverpb::WatchResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire));
  ASSERT_EQ(parsed.events_size(), 3);
  EXPECT_EQ(parsed.events(1).type(), mvccpb::Event::DELETE);
  EXPECT_FALSE(parsed.events(0).has_prev_kv());
  EXPECT_EQ(parsed.events(2).kv().value(), std::string(300, 'v'));
}

}  // namespace
}  // namespace grid::kv::watch

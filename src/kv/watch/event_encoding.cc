#include "kv/watch/event_encoding.h"

#include <cstring>
#include <utility>

#include <google/protobuf/io/coded_stream.h>

#include "common/check.h"

namespace grid::kv::watch {

namespace {

using google::protobuf::io::CodedOutputStream;

// Wire tags: (field number << 3) | wire type.
constexpr uint32_t kEventTypeTag = (mvccpb::Event::kTypeFieldNumber << 3) | 0;  // varint
constexpr uint32_t kEventKvTag = (mvccpb::Event::kKvFieldNumber << 3) | 2;      // length-delimited
constexpr uint32_t kResponseEventsTag =
    (etcdserverpb::WatchResponse::kEventsFieldNumber << 3) | 2;  // length-delimited
static_assert(etcdserverpb::WatchResponse::kEventsFieldNumber == 11,
              "events must stay field 11, the last field of WatchResponse");

// An enum is an int32 varint: a negative value is sign-extended to 64 bits.
uint64_t EnumVarint(int value) { return static_cast<uint64_t>(static_cast<int64_t>(value)); }

// Writes `ev` without prev_kv. REQUIRES: ev.kv()'s cached size is set (EncodedEventBytes).
uint8_t* WriteWithoutPrevKv(const mvccpb::Event& ev, uint8_t* p) {
  // Event's fields in number order (as protobuf writes them): type (1), kv (2); prev_kv (3)
  // is the one left out.
  if (ev.type() != 0) {
    p = CodedOutputStream::WriteVarint32ToArray(kEventTypeTag, p);
    p = CodedOutputStream::WriteVarint64ToArray(EnumVarint(ev.type()), p);
  }
  if (ev.has_kv()) {
    p = CodedOutputStream::WriteVarint32ToArray(kEventKvTag, p);
    p = CodedOutputStream::WriteVarint32ToArray(static_cast<uint32_t>(ev.kv().GetCachedSize()), p);
    p = ev.kv().SerializeWithCachedSizesToArray(p);
  }
  return p;
}

bool WritesWhole(const mvccpb::Event& ev, bool with_prev_kv) {
  return with_prev_kv || !ev.has_prev_kv();
}

}  // namespace

size_t EncodedEventBytes(const mvccpb::Event& ev, bool with_prev_kv) {
  if (WritesWhole(ev, with_prev_kv)) return ev.ByteSizeLong();
  size_t bytes = 0;
  if (ev.type() != 0) {
    bytes += CodedOutputStream::VarintSize32(kEventTypeTag) +
             CodedOutputStream::VarintSize64(EnumVarint(ev.type()));
  }
  if (ev.has_kv()) {
    const size_t kv_bytes = ev.kv().ByteSizeLong();
    bytes += CodedOutputStream::VarintSize32(kEventKvTag) +
             CodedOutputStream::VarintSize64(kv_bytes) + kv_bytes;
  }
  return bytes;
}

size_t EventFieldBytes(size_t encoded_bytes) {
  return CodedOutputStream::VarintSize32(kResponseEventsTag) +
         CodedOutputStream::VarintSize64(encoded_bytes) + encoded_bytes;
}

void AppendEncodedEvent(const mvccpb::Event& ev, bool with_prev_kv, std::string* out) {
  const size_t bytes = EncodedEventBytes(ev, with_prev_kv);
  const size_t at = out->size();
  out->resize(at + bytes);
  auto* p = reinterpret_cast<uint8_t*>(out->data() + at);
  uint8_t* end = WritesWhole(ev, with_prev_kv) ? ev.SerializeWithCachedSizesToArray(p)
                                               : WriteWithoutPrevKv(ev, p);
  GRID_CHECK_EQ(static_cast<size_t>(end - p), bytes);
}

void WriteEventsResponse(std::string_view head,
                         std::span<const std::shared_ptr<const mvccpb::Event>> events,
                         std::span<const uint32_t> encoded_bytes, bool with_prev_kv,
                         uint8_t* out) {
  GRID_CHECK_EQ(events.size(), encoded_bytes.size());
  std::memcpy(out, head.data(), head.size());
  uint8_t* p = out + head.size();
  for (size_t i = 0; i < events.size(); ++i) {
    const mvccpb::Event& ev = *events[i];
    p = CodedOutputStream::WriteVarint32ToArray(kResponseEventsTag, p);
    p = CodedOutputStream::WriteVarint32ToArray(encoded_bytes[i], p);
    uint8_t* start = p;
    p = WritesWhole(ev, with_prev_kv) ? ev.SerializeWithCachedSizesToArray(p)
                                      : WriteWithoutPrevKv(ev, p);
    GRID_CHECK_EQ(static_cast<size_t>(p - start), encoded_bytes[i])
        << "event sized on another thread's cached sizes";
  }
}

}  // namespace grid::kv::watch

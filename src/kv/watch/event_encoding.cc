#include "kv/watch/event_encoding.h"

#include <cstdint>
#include <utility>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/unknown_field_set.h>

namespace grid::kv::watch {

namespace {

using google::protobuf::io::CodedOutputStream;

void AppendVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>(value | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

// Wire tags: (field number << 3) | wire type.
constexpr uint64_t kEventTypeTag = (mvccpb::Event::kTypeFieldNumber << 3) | 0;  // varint
constexpr uint64_t kEventKvTag = (mvccpb::Event::kKvFieldNumber << 3) | 2;      // length-delimited

}  // namespace

void AppendEncodedEvent(const mvccpb::Event& ev, bool with_prev_kv, std::string* out) {
  if (with_prev_kv || !ev.has_prev_kv()) {
    ev.AppendToString(out);
    return;
  }
  // Event's fields in number order (as protobuf writes them): type (1), kv (2); prev_kv (3)
  // is the one left out.
  if (ev.type() != 0) {
    AppendVarint(kEventTypeTag, out);
    // An enum is an int32 varint: a negative value is sign-extended to 64 bits.
    AppendVarint(static_cast<uint64_t>(static_cast<int64_t>(ev.type())), out);
  }
  if (ev.has_kv()) {
    AppendVarint(kEventKvTag, out);
    AppendVarint(ev.kv().ByteSizeLong(), out);
    ev.kv().AppendToString(out);
  }
}

size_t EncodedEventBytes(const mvccpb::Event& ev, bool with_prev_kv) {
  if (with_prev_kv || !ev.has_prev_kv()) return ev.ByteSizeLong();
  size_t bytes = 0;
  if (ev.type() != 0) {
    bytes += CodedOutputStream::VarintSize64(kEventTypeTag) +
             CodedOutputStream::VarintSize64(static_cast<uint64_t>(static_cast<int64_t>(ev.type())));
  }
  if (ev.has_kv()) {
    const size_t kv_bytes = ev.kv().ByteSizeLong();
    bytes += CodedOutputStream::VarintSize64(kEventKvTag) +
             CodedOutputStream::VarintSize64(kv_bytes) + kv_bytes;
  }
  return bytes;
}

size_t EventFieldBytes(size_t encoded_bytes) {
  return 1 + CodedOutputStream::VarintSize64(encoded_bytes) + encoded_bytes;
}

void AddEncodedEvent(std::string encoded, etcdserverpb::WatchResponse* response) {
  static_assert(etcdserverpb::WatchResponse::kEventsFieldNumber == 11 &&
                etcdserverpb::WatchResponse::kEventsFieldNumber < 16,
                "EventFieldBytes assumes a one-byte tag");
  *response->GetReflection()
       ->MutableUnknownFields(response)
       ->AddLengthDelimited(etcdserverpb::WatchResponse::kEventsFieldNumber) =
      std::move(encoded);
}

}  // namespace grid::kv::watch

#include "transport/stream_wire.h"

#include <cstring>

#include "common/little_endian.h"

namespace grid::transport {
namespace {

// A reader's buffer larger than this is released once it is empty.
constexpr size_t kKeptBufferBytes = 4u << 20;

}  // namespace

std::string EncodeHello(const CallHeader& h) {
  std::string out(kStreamMagic);
  PutU64(&out, h.cluster_id);
  PutU64(&out, h.from.value());
  PutU64(&out, h.to.value());
  return out;
}

Result<CallHeader> DecodeHello(std::string_view hello) {
  GRID_CHECK(hello.size() == kStreamHelloBytes) << "hello of " << hello.size() << " bytes";
  if (hello.substr(0, kStreamMagic.size()) != kStreamMagic) {
    return InvalidArgument("not a message stream (bad magic)");
  }
  const char* p = hello.data() + kStreamMagic.size();
  CallHeader h;
  h.cluster_id = GetU64(p);
  h.from = raft::MemberId(GetU64(p + 8));
  h.to = raft::MemberId(GetU64(p + 16));
  return h;
}

void AppendFrameHead(FrameType type, size_t payload_bytes, std::string* out) {
  GRID_CHECK(payload_bytes <= UINT32_MAX) << "frame payload of " << payload_bytes << " bytes";
  out->push_back(static_cast<char>(type));
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((payload_bytes >> (8 * i)) & 0xff));
}

std::string EncodeFrame(FrameType type, std::string_view payload) {
  std::string out;
  out.reserve(kFrameHeadBytes + payload.size());
  AppendFrameHead(type, payload.size(), &out);
  out.append(payload);
  return out;
}

std::string EncodeEnd(const Status& why) {
  std::string payload(1, static_cast<char>(why.code()));
  payload.append(why.message());
  return EncodeFrame(FrameType::kEnd, payload);
}

Status DecodeEnd(std::string_view payload) {
  if (payload.empty()) return Unavailable("peer ended the stream");
  const auto raw = static_cast<uint8_t>(payload[0]);
  if (raw == 0 || raw > static_cast<uint8_t>(Code::kInternal)) {
    return Internal("peer ended the stream with unknown code " + std::to_string(raw) + ": " +
                    std::string(payload.substr(1)));
  }
  return Status(static_cast<Code>(raw), std::string(payload.substr(1)));
}

char* FrameReader::Reserve(size_t n) {
  if (consumed_ == size_ && buffer_.size() > kKeptBufferBytes) {
    std::string().swap(buffer_);  // a large frame passed: give its memory back
    size_ = consumed_ = 0;
  }
  if (consumed_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + consumed_, size_ - consumed_);
    size_ -= consumed_;
    consumed_ = 0;
  }
  if (buffer_.size() < size_ + n) buffer_.resize(size_ + n);
  return buffer_.data() + size_;
}

void FrameReader::Append(const char* data, size_t n) {
  std::memcpy(Reserve(n), data, n);
  Commit(n);
}

Result<std::optional<FrameView>> FrameReader::Next() {
  const size_t available = size_ - consumed_;
  if (available < kFrameHeadBytes) return std::optional<FrameView>();
  const char* head = buffer_.data() + consumed_;
  const auto type = static_cast<FrameType>(static_cast<uint8_t>(head[0]));
  if (type != FrameType::kBatch && type != FrameType::kAccepted && type != FrameType::kEnd &&
      type != FrameType::kKeepalive) {
    return InvalidArgument("unknown frame type " + std::to_string(static_cast<uint8_t>(head[0])));
  }
  const size_t length = GetU32(head + 1);
  if (length > max_payload_bytes_) {
    return ResourceExhausted("frame of " + std::to_string(length) + " bytes exceeds the limit of " +
                             std::to_string(max_payload_bytes_));
  }
  if (available < kFrameHeadBytes + length) return std::optional<FrameView>();
  FrameView f{type, std::string_view(head + kFrameHeadBytes, length)};
  consumed_ += kFrameHeadBytes + length;
  return std::optional<FrameView>(f);
}

}  // namespace grid::transport

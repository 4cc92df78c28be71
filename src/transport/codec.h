// Conversions between the consensus core's value types and the peer wire messages.
#pragma once

#include "common/status.h"
#include "grid/peer.pb.h"
#include "raft/types.h"

namespace grid::transport {

void EncodeMessage(const raft::Message& m, peerpb::Message* out);
// InvalidArgument when the message names a type or entry type the core does not know.
Status DecodeMessage(const peerpb::Message& in, raft::Message* out);

// True for the message types that travel between members (everything but the local ones).
bool IsPeerMessageType(raft::MessageType t);
// Name for logs ("kApp"); "unknown(<n>)" never happens for decoded messages.
const char* MessageTypeLabel(raft::MessageType t);

// What a message costs in an outgoing queue: its variable-size payload plus a fixed overhead
// per message and per entry. Never less than the encoded size.
uint64_t ApproxMessageBytes(const raft::Message& m);

}  // namespace grid::transport

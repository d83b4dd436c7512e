#pragma once
// The client side of `aladdin status`: one statusRequest on the client channel, one
// statusReply back (schema/client.capnp), over a DEALER of its own.

#include <chrono>
#include <optional>
#include <string>

#include "schema/client_channel.hpp"

namespace aladdin::node {

// The node's status, or nullopt with *error saying why (cannot connect, no answer within
// `timeout`, an error reply).
std::optional<client_channel::status_reply> ask_status(const std::string& endpoint, std::chrono::milliseconds timeout,
                                                       std::string* error);

}  // namespace aladdin::node

#include "router/net/address_book.h"

#include <gtest/gtest.h>

#include <map>

namespace grid::router::net {
namespace {

// A resolver over a map the test edits, counting its calls.
struct FakeDns {
  std::map<std::string, std::string, std::less<>> names;  // "host:port" -> numeric "ip:port"
  int calls = 0;

  ResolveFn fn() {
    return [this](std::string_view text) -> Result<SocketAddress> {
      ++calls;
      auto it = names.find(text);
      if (it == names.end()) return Unavailable("resolve \"" + std::string(text) + "\": no such name");
      return ParseSocketAddress(it->second);
    };
  }
};

std::string Text(const Result<SocketAddress>* r) {
  if (r == nullptr) return "absent";
  return r->ok() ? r->value().ToString() : r->status().message();
}

TEST(AddressBookTest, NumericAddressesAreParsedWithoutTheResolver) {
  FakeDns dns;
  auto book = AddressBook::Build({"127.0.0.1:80", "[::1]:8080", "127.0.0.1:80"}, dns.fn());
  EXPECT_EQ(dns.calls, 0);
  EXPECT_EQ(book->size(), 2u);
  EXPECT_FALSE(book->has_names());
  EXPECT_EQ(Text(book->Find("127.0.0.1:80")), "127.0.0.1:80");
  EXPECT_EQ(Text(book->Find("[::1]:8080")), "[::1]:8080");
  EXPECT_EQ(Text(book->Find("127.0.0.2:80")), "absent");
  EXPECT_EQ(book->Refreshed(dns.fn()), nullptr);
  EXPECT_EQ(dns.calls, 0);
}

TEST(AddressBookTest, NamesAreResolvedOnceAndFailuresKeptAsErrors) {
  FakeDns dns;
  dns.names["cell-a:80"] = "10.0.0.1:80";
  auto book = AddressBook::Build({"cell-a:80", "gone:80", "cell-a:80"}, dns.fn());
  EXPECT_EQ(dns.calls, 2);
  EXPECT_TRUE(book->has_names());
  EXPECT_EQ(Text(book->Find("cell-a:80")), "10.0.0.1:80");
  EXPECT_EQ(Text(book->Find("gone:80")), "resolve \"gone:80\": no such name");
}

TEST(AddressBookTest, ANewTableResolvesOnlyTheNamesItAdds) {
  FakeDns dns;
  dns.names["cell-a:80"] = "10.0.0.1:80";
  dns.names["cell-b:80"] = "10.0.0.2:80";
  auto first = AddressBook::Build({"cell-a:80"}, dns.fn());
  dns.names["cell-a:80"] = "10.0.0.9:80";  // changed, but only a refresh looks again
  auto second = AddressBook::Build({"cell-a:80", "cell-b:80"}, dns.fn(), first.get());
  EXPECT_EQ(dns.calls, 2);
  EXPECT_EQ(Text(second->Find("cell-a:80")), "10.0.0.1:80");
  EXPECT_EQ(Text(second->Find("cell-b:80")), "10.0.0.2:80");
  EXPECT_NE(first->generation(), second->generation());
}

TEST(AddressBookTest, ARefreshReturnsANewBookOnlyWhenANameResolvesDifferently) {
  FakeDns dns;
  dns.names["cell-a:80"] = "10.0.0.1:80";
  auto book = AddressBook::Build({"cell-a:80", "127.0.0.1:81"}, dns.fn());
  EXPECT_EQ(book->Refreshed(dns.fn()), nullptr);  // same answer
  dns.names["cell-a:80"] = "10.0.0.2:80";
  auto moved = book->Refreshed(dns.fn());
  ASSERT_NE(moved, nullptr);
  EXPECT_EQ(Text(moved->Find("cell-a:80")), "10.0.0.2:80");
  EXPECT_EQ(Text(moved->Find("127.0.0.1:81")), "127.0.0.1:81");
  EXPECT_GT(moved->generation(), book->generation());
  // A name that stops resolving is a change too; the same failure again is not.
  dns.names.erase("cell-a:80");
  auto failed = moved->Refreshed(dns.fn());
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ(Text(failed->Find("cell-a:80")), "resolve \"cell-a:80\": no such name");
  EXPECT_EQ(failed->Refreshed(dns.fn()), nullptr);
}

TEST(AddressBookTest, TheSystemResolverFindsLocalhost) {
  auto book = AddressBook::Build({"localhost:8080"}, ResolveSocketAddress);
  const Result<SocketAddress>* r = book->Find("localhost:8080");
  ASSERT_NE(r, nullptr);
  ASSERT_TRUE(r->ok()) << r->status().ToString();
  EXPECT_EQ(r->value().port(), 8080);
}

TEST(AddressBookTest, SameResolutionComparesAddressesAndErrorTexts) {
  EXPECT_TRUE(SameResolution(ParseSocketAddress("1.2.3.4:5"), ParseSocketAddress("1.2.3.4:5")));
  EXPECT_FALSE(SameResolution(ParseSocketAddress("1.2.3.4:5"), ParseSocketAddress("1.2.3.4:6")));
  EXPECT_FALSE(SameResolution(ParseSocketAddress("1.2.3.4:5"), Result<SocketAddress>(Unavailable("x"))));
  EXPECT_TRUE(SameResolution(Result<SocketAddress>(Unavailable("x")), Result<SocketAddress>(Unavailable("x"))));
  EXPECT_FALSE(SameResolution(Result<SocketAddress>(Unavailable("x")), Result<SocketAddress>(Unavailable("y"))));
}

}  // namespace
}  // namespace grid::router::net

#include "router/table/table_builder.h"

#include <gtest/gtest.h>

#include "router/table/test_util.h"

namespace grid::router::table {
namespace {
using testing::kPrefix;
using testing::MustBuild;
using testing::SimpleCell;
using testing::Source;
using testing::TenantIn;

KeyChange Put(const std::string& suffix, const std::string& value) {
  return {KeyChange::Op::kPut, std::string(kPrefix) + suffix, value};
}
KeyChange Delete(const std::string& suffix) {
  return {KeyChange::Op::kDelete, std::string(kPrefix) + suffix, ""};
}

class BuilderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Source s;
    s.Router(R"({"tenant_key_sources": [{"type": "header", "name": "x-tenant"}]})")
        .Cell("eu-1", SimpleCell())
        .Cell("eu-2", SimpleCell(3))
        .Tenant("acme", TenantIn("eu-1"))
        .Tenant("globex", TenantIn("eu-2"));
    auto r = builder_.Reset(s.get(), 10);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    table_ = r.value();
  }

  Result<std::shared_ptr<const RouteTable>> Apply(std::vector<KeyChange> delta, int64_t revision) {
    return builder_.Apply(delta, revision);
  }

  TableBuilder builder_{kPrefix};
  std::shared_ptr<const RouteTable> table_;
};

TEST_F(BuilderTest, TenantPutSharesCellsAndRebuildsTheTenantIndex) {
  auto r = Apply({Put("/tenants/initech", TenantIn("eu-1"))}, 11);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto next = r.value();
  EXPECT_EQ(next->revision(), 11);
  EXPECT_EQ(next->tenant_count(), 3u);
  EXPECT_EQ(next->FindTenant("initech")->config.cell, "eu-1");
  // Unchanged cells are the same objects, so their balancer state carries over.
  EXPECT_EQ(next->FindCell("eu-1"), table_->FindCell("eu-1"));
  EXPECT_EQ(next->FindCell("eu-2"), table_->FindCell("eu-2"));
  EXPECT_NE(next->parts().tenants, table_->parts().tenants);
  // The previous table is untouched.
  EXPECT_EQ(table_->FindTenant("initech"), nullptr);
  EXPECT_EQ(table_->tenant_count(), 2u);
}

TEST_F(BuilderTest, CellPutSharesTheTenantIndexAndOtherCells) {
  auto r = Apply({Put("/cells/eu-2", SimpleCell(4))}, 11);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto next = r.value();
  EXPECT_EQ(next->parts().tenants, table_->parts().tenants);
  EXPECT_EQ(next->FindCell("eu-1"), table_->FindCell("eu-1"));
  EXPECT_NE(next->FindCell("eu-2"), table_->FindCell("eu-2"));
  EXPECT_EQ(next->FindCell("eu-2")->group(0).backends().size(), 4u);
}

TEST_F(BuilderTest, IdenticalPutChangesNothing) {
  auto r = Apply({Put("/cells/eu-1", SimpleCell())}, 11);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value()->FindCell("eu-1"), table_->FindCell("eu-1"));
  EXPECT_EQ(r.value()->parts().tenants, table_->parts().tenants);
}

TEST_F(BuilderTest, DeletingACellStillInUseFailsUntilItsTenantsMove) {
  auto r = Apply({Delete("/cells/eu-2")}, 11);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "/grid/routes/tenants/globex: cell: cell \"eu-2\" does not exist");
  // The source followed the delta: the key is gone.
  EXPECT_FALSE(builder_.source().kvs.contains("/grid/routes/cells/eu-2"));
  // Moving the tenant repairs the table.
  r = Apply({Put("/tenants/globex", TenantIn("eu-1"))}, 12);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r.value()->cell_count(), 1u);
  EXPECT_EQ(r.value()->FindTenant("globex")->config.cell, "eu-1");
}

TEST_F(BuilderTest, BadValueFailsThenAFixedValueRecovers) {
  auto r = Apply({Put("/cells/eu-1", R"({"backends": []})")}, 11);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "/grid/routes/cells/eu-1: backends: must not be empty");
  // An unrelated valid delta still fails: the bad key is still in the store.
  r = Apply({Put("/tenants/initech", TenantIn("eu-2"))}, 12);
  ASSERT_FALSE(r.ok());
  r = Apply({Put("/cells/eu-1", SimpleCell(5))}, 13);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r.value()->FindCell("eu-1")->group(0).backends().size(), 5u);
  EXPECT_NE(r.value()->FindTenant("initech"), nullptr);
}

TEST_F(BuilderTest, DeletingABadKeyRecovers) {
  ASSERT_FALSE(Apply({Put("/bogus", "{}")}, 11).ok());
  auto r = Apply({Delete("/bogus")}, 12);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

TEST_F(BuilderTest, RouterDeleteFallsBackToDefaults) {
  auto r = Apply({Delete("/router")}, 11);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.value()->settings().sources.size(), 1u);
  EXPECT_EQ(r.value()->settings().sources[0].type, KeySourceType::kHost);
}

TEST_F(BuilderTest, DeltaAppliesInOrder) {
  auto r = Apply({Put("/cells/eu-3", SimpleCell()), Put("/tenants/acme", TenantIn("eu-3")),
                  Delete("/cells/eu-1"), Delete("/tenants/nobody")},
                 11);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r.value()->FindCell("eu-1"), nullptr);
  EXPECT_EQ(r.value()->FindTenant("acme")->config.cell, "eu-3");
}

TEST_F(BuilderTest, KeyOutsideThePrefixChangesNothing) {
  std::vector<KeyChange> delta = {Put("/tenants/initech", TenantIn("eu-1")),
                                  {KeyChange::Op::kPut, "/elsewhere/x", "{}"}};
  auto r = builder_.Apply(delta, 11);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "key \"/elsewhere/x\" is outside the table prefix \"/grid/routes/\"");
  EXPECT_FALSE(builder_.source().kvs.contains("/grid/routes/tenants/initech"));
}

TEST_F(BuilderTest, ResetWithAnotherPrefixIsRefused) {
  TableSource other;
  other.prefix = "/other";
  EXPECT_FALSE(builder_.Reset(other, 1).ok());
}

TEST_F(BuilderTest, ResetReplacesEverything) {
  Source s;
  s.Cell("x", SimpleCell()).Tenant("t", TenantIn("x"));
  auto r = builder_.Reset(s.get(), 20);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value()->cell_count(), 1u);
  EXPECT_EQ(r.value()->tenant_count(), 1u);
  EXPECT_EQ(r.value()->FindTenant("acme"), nullptr);
}

// A delta on a 10,000-tenant table re-parses only the keys it touches; the benchmark
// (table_bench.cc) measures it.
TEST(BuilderScaleTest, TenThousandTenantsApplyOneChange) {
  Source s;
  s.Cell("eu-1", SimpleCell()).Cell("eu-2", SimpleCell());
  for (int i = 0; i < 10000; ++i) s.Tenant("t" + std::to_string(i), TenantIn(i % 2 ? "eu-1" : "eu-2"));
  TableBuilder b(kPrefix);
  ASSERT_TRUE(b.Reset(s.get(), 1).ok());
  std::vector<KeyChange> delta = {Put("/tenants/t5", TenantIn("eu-2"))};
  auto r = b.Apply(delta, 2);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value()->tenant_count(), 10000u);
  EXPECT_EQ(r.value()->FindTenant("t5")->config.cell, "eu-2");
}

}  // namespace
}  // namespace grid::router::table

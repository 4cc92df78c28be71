#include "mas/api/routes.h"

#include <gtest/gtest.h>

namespace grid::mas::api {
namespace {

TEST(ApiRoutes, ParsesCollectionObjectAndSubresourcePaths) {
  EXPECT_EQ(ParseApiPath("/apis/grid.dev/v1/kvclusters"), (ApiPath{Kind::kKVCluster, "", ""}));
  EXPECT_EQ(ParseApiPath("/apis/grid.dev/v1/routerfleets/edge"),
            (ApiPath{Kind::kRouterFleet, "edge", ""}));
  EXPECT_EQ(ParseApiPath("/apis/grid.dev/v1/kvclusters/a/status"),
            (ApiPath{Kind::kKVCluster, "a", "status"}));
}

TEST(ApiRoutes, RefusesOtherPaths) {
  for (const char* path :
       {"/apis/grid.dev/v1", "/apis/grid.dev/v1/", "/apis/grid.dev/v2/kvclusters",
        "/apis/grid.dev/v1/pods", "/apis/grid.dev/v1/kvclusters/",
        "/apis/grid.dev/v1/kvclusters//status", "/apis/grid.dev/v1/kvclusters/a/b/c",
        "/apis/grid.dev/v1kvclusters", "/healthz", ""}) {
    EXPECT_FALSE(ParseApiPath(path).has_value()) << path;
  }
}

TEST(ApiRoutes, PluralsRoundTrip) {
  for (Kind kind : kAllKinds) EXPECT_EQ(KindFromPlural(PluralName(kind)), kind);
  EXPECT_FALSE(KindFromPlural("kvcluster").has_value());
  EXPECT_FALSE(KindFromPlural("KVClusters").has_value());
}

TEST(ApiRoutes, RouteLabelsAreTemplates) {
  EXPECT_EQ(RouteLabel("/apis/grid.dev/v1/kvclusters"), "/apis/grid.dev/v1/kvclusters");
  EXPECT_EQ(RouteLabel("/apis/grid.dev/v1/kvclusters/orders"),
            "/apis/grid.dev/v1/kvclusters/{name}");
  EXPECT_EQ(RouteLabel("/apis/grid.dev/v1/routerfleets/e/status"),
            "/apis/grid.dev/v1/routerfleets/{name}/status");
  EXPECT_EQ(RouteLabel("/apis/grid.dev/v1/kvclusters/a/scale"),
            "/apis/grid.dev/v1/kvclusters/{name}/scale");
  EXPECT_EQ(RouteLabel("/apis/grid.dev/v1/kvclusters/a/zzz"),
            "/apis/grid.dev/v1/kvclusters/{name}/{subresource}");
  EXPECT_EQ(RouteLabel("/metrics"), "/metrics");
  EXPECT_EQ(RouteLabel("/random/123"), "other");
}

TEST(ApiRoutes, StatusCodesMapToHttp) {
  EXPECT_EQ(HttpErrorFor(InvalidArgument("x")), (HttpError{422, "Invalid"}));
  EXPECT_EQ(HttpErrorFor(NotFound("x")), (HttpError{404, "NotFound"}));
  EXPECT_EQ(HttpErrorFor(Status(Code::kAlreadyExists, "x")), (HttpError{409, "AlreadyExists"}));
  EXPECT_EQ(HttpErrorFor(ConflictError("KVCluster \"a\"", "5", "7")), (HttpError{409, "Conflict"}));
  EXPECT_EQ(HttpErrorFor(ResourceExhausted("x")), (HttpError{413, "RequestEntityTooLarge"}));
  EXPECT_EQ(HttpErrorFor(OutOfRange("x")), (HttpError{410, "Expired"}));
  EXPECT_EQ(HttpErrorFor(Unavailable("x")), (HttpError{503, "ServiceUnavailable"}));
  EXPECT_EQ(HttpErrorFor(Status(Code::kDeadlineExceeded, "x")),
            (HttpError{503, "ServiceUnavailable"}));
  EXPECT_EQ(HttpErrorFor(Corruption("x")), (HttpError{500, "InternalError"}));
  EXPECT_EQ(HttpErrorFor(Internal("x")), (HttpError{500, "InternalError"}));
}

TEST(ApiRoutes, StatusBodyCarriesCodeReasonMessage) {
  nlohmann::json body = StatusBody(NotFound("KVCluster \"a\" not found"));
  EXPECT_EQ(body["kind"], "Status");
  EXPECT_EQ(body["status"], "Failure");
  EXPECT_EQ(body["code"], 404);
  EXPECT_EQ(body["reason"], "NotFound");
  EXPECT_EQ(body["message"], "KVCluster \"a\" not found");
  EXPECT_EQ(ReasonForCode(429), "TooManyRequests");
  EXPECT_EQ(ReasonForCode(405), "MethodNotAllowed");
  EXPECT_EQ(SuccessBody(Kind::kKVCluster, "a")["details"]["name"], "a");
}

Resource Sample(const std::string& name) {
  Result<Resource> r =
      ParseResource("apiVersion: grid.dev/v1\nkind: KVCluster\nmetadata: {name: " + name +
                    "}\nspec: {version: \"3.4.23\"}\n");
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.value();
}

TEST(ApiRoutes, ListAndWatchLinesRender) {
  ResourceList list{{Sample("a"), Sample("b")}, 42};
  nlohmann::json body = ListBody(Kind::kKVCluster, list);
  EXPECT_EQ(body["kind"], "KVClusterList");
  EXPECT_EQ(body["metadata"]["resourceVersion"], "42");
  ASSERT_EQ(body["items"].size(), 2u);
  EXPECT_EQ(body["items"][1]["metadata"]["name"], "b");

  std::string line = WatchEventLine(ResourceEvent{EventType::kModified, 7, Sample("a")});
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  nlohmann::json event = nlohmann::json::parse(line);
  EXPECT_EQ(event["type"], "MODIFIED");
  EXPECT_EQ(event["object"]["kind"], "KVCluster");
  EXPECT_EQ(event["object"]["metadata"]["name"], "a");

  nlohmann::json bookmark = nlohmann::json::parse(BookmarkLine(Kind::kRouterFleet, 9));
  EXPECT_EQ(bookmark["type"], "BOOKMARK");
  EXPECT_EQ(bookmark["object"]["metadata"]["resourceVersion"], "9");
  nlohmann::json error = nlohmann::json::parse(ErrorEventLine(OutOfRange("compacted")));
  EXPECT_EQ(error["type"], "ERROR");
  EXPECT_EQ(error["object"]["code"], 410);
}

TEST(ApiRoutes, ListQueryParsing) {
  std::string one = "1", yes = "true", no = "0", rv = "17", zero = "0", bad = "x1", neg = "-3";
  EXPECT_FALSE(ParseListQuery(nullptr, nullptr)->watch);
  EXPECT_TRUE(ParseListQuery(&one, nullptr)->watch);
  EXPECT_TRUE(ParseListQuery(&yes, nullptr)->watch);
  EXPECT_FALSE(ParseListQuery(&no, nullptr)->watch);
  EXPECT_EQ(ParseListQuery(&one, &rv)->resource_version, 17);
  EXPECT_FALSE(ParseListQuery(&one, &zero)->resource_version.has_value());
  Result<ListQuery> q = ParseListQuery(&one, &bad);
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.status().message().find("resourceVersion"), std::string::npos);
  EXPECT_FALSE(ParseListQuery(&one, &neg).ok());
}

TEST(ApiRoutes, BodySizeLimitAtTheLimit) {
  EXPECT_TRUE(CheckBodySize(kMaxResourceBytes, kMaxResourceBytes).ok());
  Status over = CheckBodySize(kMaxResourceBytes + 1, kMaxResourceBytes);
  EXPECT_EQ(over.code(), Code::kResourceExhausted);
  EXPECT_EQ(HttpErrorFor(over).code, 413);
}

TEST(ApiRoutes, MetricsRenderSortedCounters) {
  RequestMetrics m;
  m.Record("/healthz", "GET", 200);
  m.Record("/apis/grid.dev/v1/kvclusters", "POST", 201);
  m.Record("/healthz", "GET", 200);
  m.SetActiveWatches(3);
  EXPECT_EQ(m.Count("/healthz", "GET", 200), 2u);
  EXPECT_EQ(m.Count("/healthz", "GET", 500), 0u);
  std::string text = m.Render();
  EXPECT_NE(text.find("# TYPE grid_mas_api_requests_total counter\n"), std::string::npos);
  EXPECT_NE(
      text.find("grid_mas_api_requests_total{route=\"/healthz\",method=\"GET\",code=\"200\"} 2\n"),
      std::string::npos);
  EXPECT_NE(text.find("grid_mas_api_watches 3\n"), std::string::npos);
  EXPECT_LT(text.find("/apis/grid.dev/v1/kvclusters"), text.find("/healthz\""));
}

}  // namespace
}  // namespace grid::mas::api

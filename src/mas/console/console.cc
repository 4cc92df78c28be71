#include "mas/console/console.h"

#include <string>
#include <string_view>

#include "mas/console/assets.h"

namespace grid::mas::console {
namespace {

constexpr std::string_view kRedirectHtml =
    "<!doctype html>\n<html><head><meta charset=\"utf-8\">"
    "<meta http-equiv=\"refresh\" content=\"0; url=/console\">"
    "<link rel=\"icon\" href=\"data:,\">"
    "<title>gridmas</title></head>"
    "<body><a href=\"/console\">gridmas console</a></body></html>\n";

api::RouteHandler Serve(std::string_view body, std::string content_type) {
  return [body, content_type = std::move(content_type)](const api::ApiRequest&) {
    return api::ApiResponse{200, content_type, std::string(body)};
  };
}

}  // namespace

Status RegisterConsole(api::ApiServer* api) {
  const std::string html = "text/html; charset=utf-8";
  GRID_RETURN_IF_ERROR(api->AddRoute("GET", "/console/?", Serve(kIndexHtml, html)));
  GRID_RETURN_IF_ERROR(api->AddRoute("GET", R"(/console/app\.js)",
                                     Serve(kAppJs, "text/javascript; charset=utf-8")));
  GRID_RETURN_IF_ERROR(api->AddRoute("GET", R"(/console/style\.css)",
                                     Serve(kStyleCss, "text/css; charset=utf-8")));
  GRID_RETURN_IF_ERROR(api->AddRoute("GET", "/", Serve(kRedirectHtml, html)));
  return Status::Ok();
}

}  // namespace grid::mas::console

// The gridmas web console: one page served by the API server, which reads and watches the
// resource API from the browser and changes spec fields by compare-and-swap PUTs.
//
//   GET /console            the page (text/html)
//   GET /console/app.js     its script
//   GET /console/style.css  its style sheet
//   GET /                   a page that sends the browser to /console (an HTML refresh:
//                           ApiResponse carries no Location header)
//
// The files are compiled in (assets/, embedded at build time); nothing is read from disk.
#pragma once

#include "common/status.h"
#include "mas/api/api_server.h"

namespace grid::mas::console {

// The number of routes RegisterConsole adds (counted against api::kMaxExtraRoutes).
inline constexpr size_t kConsoleRoutes = 4;

// Adds the console's routes. REQUIRES: before api->Start. Fails as ApiServer::AddRoute does
// (e.g. ResourceExhausted when the server's route limit would be passed).
[[nodiscard]] Status RegisterConsole(api::ApiServer* api);

}  // namespace grid::mas::console

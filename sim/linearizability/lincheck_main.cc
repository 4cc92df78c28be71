// grid-lincheck: checks a history (JSON lines, see README.md) for linearizability.
// Exit status: 0 linearizable, 1 violation, 2 unknown (a limit was reached) or bad input.
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>

#include "sim/linearizability/checker.h"
#include "sim/linearizability/history_json.h"

int main(int argc, char** argv) {
  CLI::App app{"Checks a key-value history (JSON lines) for linearizability"};
  std::string path = "-";
  grid::lin::Limits limits;
  app.add_option("history", path, "history file, one operation per line; - for stdin")
      ->capture_default_str();
  app.add_option("--max-ops-per-key", limits.max_ops_per_key, "operations on one key")
      ->capture_default_str();
  app.add_option("--max-search-steps-per-key", limits.max_search_steps_per_key,
                 "search steps on one key")
      ->capture_default_str();
  app.add_option("--max-memo-bytes-per-key", limits.max_memo_bytes_per_key,
                 "memory for the search memo of one key")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  grid::Result<std::vector<grid::lin::Operation>> history = grid::InvalidArgument("unread");
  if (path == "-") {
    history = grid::lin::ReadHistoryJson(std::cin);
  } else {
    std::ifstream in(path);
    if (!in) {
      std::cerr << "grid-lincheck: cannot open " << path << "\n";
      return 2;
    }
    history = grid::lin::ReadHistoryJson(in);
  }
  if (!history.ok()) {
    std::cerr << "grid-lincheck: bad input: " << history.status().ToString() << "\n";
    return 2;
  }
  grid::Result<grid::lin::CheckResult> result = grid::lin::Check(history.value(), limits);
  if (!result.ok()) {
    std::cerr << "grid-lincheck: bad input: " << result.status().ToString() << "\n";
    return 2;
  }
  std::cout << grid::lin::FormatResult(result.value()) << "\n";
  switch (result->verdict) {
    case grid::lin::Verdict::kLinearizable:
      return 0;
    case grid::lin::Verdict::kViolation:
      return 1;
    case grid::lin::Verdict::kUnknown:
      return 2;
  }
  return 2;
}

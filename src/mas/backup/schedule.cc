#include "mas/backup/schedule.h"

#include <array>
#include <cctype>
#include <optional>
#include <vector>

#include "common/check.h"

namespace grid::mas::backup {
namespace {

using std::chrono::days;
using std::chrono::minutes;
using std::chrono::sys_days;
using std::chrono::system_clock;

struct FieldDef {
  const char* name;
  int min;
  int max;
  const char* const* names;  // names[i] is value min + i; nullptr when the field has none
  size_t name_count;
};

constexpr const char* kMonthNames[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                       "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr const char* kDayNames[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

constexpr std::array<FieldDef, 5> kFields = {{
    {"minute", 0, 59, nullptr, 0},
    {"hour", 0, 23, nullptr, 0},
    {"day-of-month", 1, 31, nullptr, 0},
    {"month", 1, 12, kMonthNames, 12},
    {"day-of-week", 0, 7, kDayNames, 7},
}};

// A piece of the spec with its 1-based position.
struct Token {
  std::string_view text;
  size_t position = 0;
};

std::vector<Token> Split(std::string_view s, size_t base_position, bool on_space, char sep) {
  std::vector<Token> out;
  size_t i = 0;
  while (i <= s.size()) {
    if (on_space) {
      while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
      if (i == s.size()) break;
      size_t j = i;
      while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
      out.push_back({s.substr(i, j - i), base_position + i});
      i = j;
    } else {
      size_t j = s.find(sep, i);
      if (j == std::string_view::npos) j = s.size();
      out.push_back({s.substr(i, j - i), base_position + i});
      i = j + 1;
    }
  }
  return out;
}

class FieldParser {
 public:
  FieldParser(std::string_view spec, const FieldDef& def) : spec_(spec), def_(def) {}

  Status Error(size_t position, const std::string& what) const {
    return InvalidArgument("schedule \"" + std::string(spec_) + "\": " + def_.name +
                           " at position " + std::to_string(position) + ": " + what);
  }

  // A number or (for month and day-of-week) a name, within the field's range.
  Result<int> Value(Token t) const {
    if (t.text.empty()) return Error(t.position, "a value is missing");
    bool digits = true;
    for (char c : t.text) digits = digits && std::isdigit(static_cast<unsigned char>(c));
    if (digits) {
      if (t.text.size() > 2) {
        return Error(t.position, std::string(t.text) + " is out of range " +
                                     std::to_string(def_.min) + ".." + std::to_string(def_.max));
      }
      int v = std::stoi(std::string(t.text));
      if (v < def_.min || v > def_.max) {
        return Error(t.position, std::to_string(v) + " is out of range " +
                                     std::to_string(def_.min) + ".." + std::to_string(def_.max));
      }
      return v;
    }
    for (size_t i = 0; i < def_.name_count; ++i) {
      std::string_view n = def_.names[i];
      bool eq = n.size() == t.text.size();
      for (size_t k = 0; eq && k < n.size(); ++k) {
        eq = std::toupper(static_cast<unsigned char>(t.text[k])) == n[k];
      }
      if (eq) return def_.min + static_cast<int>(i);
    }
    std::string expected = def_.name_count > 0 ? "a number or a name (" +
                                                     std::string(def_.names[0]) + ".." +
                                                     def_.names[def_.name_count - 1] + ")"
                                               : std::string("a number");
    return Error(t.position, "\"" + std::string(t.text) + "\" is not " + expected);
  }

  // Sets the values of one list item in `bits` (indexed by value).
  Status Item(Token t, std::vector<bool>* bits) const {
    if (t.text.empty()) return Error(t.position, "empty list item");
    Token base = t;
    std::optional<Token> step;
    if (size_t slash = t.text.find('/'); slash != std::string_view::npos) {
      base = {t.text.substr(0, slash), t.position};
      step = Token{t.text.substr(slash + 1), t.position + slash + 1};
    }
    int lo = def_.min;
    int hi = def_.max;
    if (base.text == "*") {
      // the whole range
    } else if (size_t dash = base.text.find('-'); dash != std::string_view::npos) {
      GRID_ASSIGN_OR_RETURN(lo, Value({base.text.substr(0, dash), base.position}));
      GRID_ASSIGN_OR_RETURN(hi, Value({base.text.substr(dash + 1), base.position + dash + 1}));
      if (lo > hi) {
        return Error(base.position, "range " + std::string(base.text) + " is reversed (" +
                                        std::to_string(lo) + " > " + std::to_string(hi) + ")");
      }
    } else {
      GRID_ASSIGN_OR_RETURN(lo, Value(base));
      hi = step ? def_.max : lo;  // "N/S": from N to the field's maximum
    }
    int every = 1;
    if (step) {
      bool digits = !step->text.empty() && step->text.size() <= 2;
      for (char c : step->text) digits = digits && std::isdigit(static_cast<unsigned char>(c));
      const int max_step = def_.max - def_.min;
      if (digits) every = std::stoi(std::string(step->text));
      if (!digits || every < 1 || every > max_step) {
        return Error(step->position, "step must be 1.." + std::to_string(max_step) + ", got \"" +
                                         std::string(step->text) + "\"");
      }
    }
    for (int v = lo; v <= hi; v += every) (*bits)[v] = true;
    return Status::Ok();
  }

  Result<std::vector<bool>> Field(Token field) const {
    std::vector<bool> bits(def_.max + 1, false);
    std::vector<Token> items = Split(field.text, field.position, false, ',');
    if (items.size() > kMaxCronListItems) {
      return Error(field.position, "at most " + std::to_string(kMaxCronListItems) +
                                       " list items, got " + std::to_string(items.size()));
    }
    for (const Token& item : items) GRID_RETURN_IF_ERROR(Item(item, &bits));
    return bits;
  }

 private:
  std::string_view spec_;
  const FieldDef& def_;
};

std::string_view Shorthand(std::string_view spec) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 7> kShort = {{
      {"@hourly", "0 * * * *"},
      {"@daily", "0 0 * * *"},
      {"@midnight", "0 0 * * *"},
      {"@weekly", "0 0 * * 0"},
      {"@monthly", "0 0 1 * *"},
      {"@yearly", "0 0 1 1 *"},
      {"@annually", "0 0 1 1 *"},
  }};
  for (const auto& [name, expansion] : kShort) {
    if (spec == name) return expansion;
  }
  return {};
}

unsigned DaysIn(unsigned month) {
  // February counts 29: a leap year comes within 8 years.
  static constexpr unsigned kDays[] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return kDays[month];
}

}  // namespace

Result<CronSchedule> CronSchedule::Parse(std::string_view spec) {
  if (spec.size() > kMaxCronSpecBytes) {
    return InvalidArgument("schedule: at most " + std::to_string(kMaxCronSpecBytes) +
                           " bytes, got " + std::to_string(spec.size()));
  }
  CronSchedule s;
  s.spec_ = std::string(spec);
  std::string_view fields_text = spec;
  if (!spec.empty() && spec.front() == '@') {
    fields_text = Shorthand(spec);
    if (fields_text.empty()) {
      return InvalidArgument("schedule \"" + std::string(spec) +
                             "\": unknown shorthand (expected @hourly, @daily, @midnight, "
                             "@weekly, @monthly, @yearly or @annually)");
    }
  }
  std::vector<Token> fields = Split(fields_text, 1, true, ' ');
  if (fields.size() != kFields.size()) {
    return InvalidArgument("schedule \"" + std::string(spec) +
                           "\": expected 5 fields (minute hour day-of-month month "
                           "day-of-week), got " + std::to_string(fields.size()));
  }
  std::array<std::vector<bool>, 5> bits;
  for (size_t i = 0; i < kFields.size(); ++i) {
    GRID_ASSIGN_OR_RETURN(bits[i], FieldParser(spec, kFields[i]).Field(fields[i]));
  }
  for (int v = 0; v < 60; ++v) s.minutes_[v] = bits[0][v];
  for (int v = 0; v < 24; ++v) s.hours_[v] = bits[1][v];
  for (int v = 1; v <= 31; ++v) s.days_of_month_[v] = bits[2][v];
  for (int v = 1; v <= 12; ++v) s.months_[v] = bits[3][v];
  for (int v = 0; v <= 7; ++v) {
    if (bits[4][v]) s.days_of_week_[v % 7] = true;
  }
  s.dom_restricted_ = fields[2].text.front() != '*';
  s.dow_restricted_ = fields[4].text.front() != '*';

  // Refuse a schedule that never fires: with day-of-week unrestricted (or day-of-month
  // unrestricted) some selected month must have a selected day.
  if (!(s.dom_restricted_ && s.dow_restricted_)) {
    bool fires = false;
    for (unsigned m = 1; m <= 12 && !fires; ++m) {
      if (!s.months_[m]) continue;
      for (unsigned d = 1; d <= DaysIn(m) && !fires; ++d) fires = s.days_of_month_[d];
    }
    if (!fires) {
      return InvalidArgument("schedule \"" + std::string(spec) + "\": day-of-month at position " +
                             std::to_string(fields[2].position) +
                             ": no selected month has a selected day, the schedule never fires");
    }
  }
  return s;
}

bool CronSchedule::DayMatches(std::chrono::year_month_day ymd) const {
  if (!months_[static_cast<unsigned>(ymd.month())]) return false;
  const bool dom = days_of_month_[static_cast<unsigned>(ymd.day())];
  const bool dow = days_of_week_[std::chrono::weekday(sys_days(ymd)).c_encoding()];
  if (dom_restricted_ && dow_restricted_) return dom || dow;
  return dom && dow;
}

bool CronSchedule::Matches(system_clock::time_point t) const {
  const auto minute = std::chrono::floor<minutes>(t);
  const auto day = std::chrono::floor<days>(minute);
  const std::chrono::hh_mm_ss hms(minute - day);
  return DayMatches(std::chrono::year_month_day(day)) &&
         hours_[static_cast<size_t>(hms.hours().count())] &&
         minutes_[static_cast<size_t>(hms.minutes().count())];
}

system_clock::time_point CronSchedule::NextAfter(system_clock::time_point t) const {
  const auto start = std::chrono::floor<minutes>(t) + minutes(1);
  const sys_days first_day = std::chrono::floor<days>(start);
  const int start_minute_of_day = static_cast<int>((start - first_day).count());
  constexpr int kSearchDays = 8 * 366 + 1;
  for (int d = 0; d < kSearchDays; ++d) {
    const sys_days day = first_day + days(d);
    if (!DayMatches(std::chrono::year_month_day(day))) continue;
    const int from = d == 0 ? start_minute_of_day : 0;
    for (int h = from / 60; h < 24; ++h) {
      if (!hours_[h]) continue;
      for (int m = (h == from / 60 ? from % 60 : 0); m < 60; ++m) {
        if (minutes_[m]) return day + std::chrono::hours(h) + minutes(m);
      }
    }
  }
  GRID_CHECK(false) << "schedule \"" << spec_ << "\" has no time within 8 years";
  return start;
}

}  // namespace grid::mas::backup

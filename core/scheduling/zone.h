// neuroplan::scheduling — clinic-local time. Appointments are kept as a local date, a minute of
// the day and the clinic's IANA zone name ("Europe/Berlin"); instants for conflicts and exports
// are computed from them with Howard Hinnant's date/tz (Debian libhowardhinnant-date-dev), which
// reads the system's /usr/share/zoneinfo (tzdata) and downloads nothing. GCC 12's standard
// library has no std::chrono time zones.
//
// So a 09:00 session stays 09:00 local across a daylight-saving change: its UTC instant moves.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/time.h"

namespace date {
class time_zone;
}

namespace neuroplan::scheduling {

using Day = std::chrono::sys_days;  ///< a civil (local) date as a day count
/// Minutes since 1970-01-01T00:00Z: the unit every interval comparison uses.
using UtcMinutes = std::int64_t;

/// The last year the system's zone files describe in full: date/tz 3.0.1 reads only the
/// explicit transitions of a tzfile, which Debian's tzdata lists up to 2037.
inline constexpr int kLastPlannableYear = 2037;

struct LocalTime {
    Day day;
    int minuteOfDay = 0;
};

class Zone {
  public:
    /// Looks the zone up in the system's tz database; an unknown name is an error naming `field`.
    static Result<Zone> locate(std::string_view name, std::string_view field);

    const std::string& name() const { return m_name; }

    /// The instant of a local wall-clock time. A time in the spring-forward gap is moved forward
    /// by the gap (02:30 becomes 03:30 CEST); a repeated time in the autumn takes the earlier.
    UtcMinutes toUtc(Day day, int minuteOfDay) const;
    LocalTime toLocal(UtcMinutes instant) const;
    /// Whether the local time exists exactly once (not in a gap, not repeated).
    bool unambiguous(Day day, int minuteOfDay) const;

  private:
    Zone(const date::time_zone* zone, std::string name) : m_zone(zone), m_name(std::move(name)) {}
    const date::time_zone* m_zone;
    std::string m_name;
};

/// Monday = 0 ... Sunday = 6.
int weekdayIndex(Day day);
/// The Monday of the day's ISO week.
Day weekStart(Day day);

Result<Day> parseDay(std::string_view text, std::string_view field);
std::string formatDay(Day day);
/// Parses HH:MM (00:00-24:00) to minutes of the day.
Result<int> parseClock(std::string_view text, std::string_view field);
std::string formatClock(int minuteOfDay);
std::string formatUtcMinutes(UtcMinutes instant);  ///< 2026-03-30T07:00:00Z
UtcMinutes toUtcMinutes(Instant instant);

}  // namespace neuroplan::scheduling

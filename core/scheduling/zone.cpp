#include "scheduling/zone.h"

#include <date/tz.h>

#include <cstdio>

namespace neuroplan::scheduling {

namespace {

date::local_time<std::chrono::minutes> localMinutes(Day day, int minuteOfDay) {
    return date::local_time<std::chrono::minutes>{std::chrono::minutes{
        static_cast<std::int64_t>(day.time_since_epoch().count()) * 1440 + minuteOfDay}};
}

}  // namespace

Result<Zone> Zone::locate(std::string_view name, std::string_view field) {
    if (name.empty()) {
        return makeError(ErrorCode::InvalidInput, std::string(field),
                         "required: an IANA time zone such as Europe/Berlin");
    }
    try {
        const date::time_zone* zone = date::locate_zone(name);
        return Zone(zone, std::string(name));
    } catch (const std::exception&) {
        return makeError(ErrorCode::InvalidInput, std::string(field),
                         "'" + std::string(name) +
                             "' is not a time zone of the system's tz database "
                             "(/usr/share/zoneinfo)");
    }
}

UtcMinutes Zone::toUtc(Day day, int minuteOfDay) const {
    const date::local_time<std::chrono::minutes> local = localMinutes(day, minuteOfDay);
    const date::local_info info = m_zone->get_info(local);
    std::chrono::minutes offset{};
    switch (info.result) {
        case date::local_info::unique:
        case date::local_info::ambiguous:  // the earlier of the two: the offset before the change
            offset = std::chrono::duration_cast<std::chrono::minutes>(info.first.offset);
            break;
        case date::local_info::nonexistent:
            // Read with the offset in force before the gap: 02:30 CET is 03:30 CEST.
            offset = std::chrono::duration_cast<std::chrono::minutes>(info.first.offset);
            break;
    }
    return (local.time_since_epoch() - offset).count();
}

bool Zone::unambiguous(Day day, int minuteOfDay) const {
    return m_zone->get_info(localMinutes(day, minuteOfDay)).result == date::local_info::unique;
}

LocalTime Zone::toLocal(UtcMinutes instant) const {
    const date::sys_seconds sys{std::chrono::minutes{instant}};
    const auto info = m_zone->get_info(sys);
    const std::int64_t local =
        instant + std::chrono::duration_cast<std::chrono::minutes>(info.offset).count();
    const std::int64_t days = local >= 0 ? local / 1440 : (local - 1439) / 1440;
    return LocalTime{Day{std::chrono::days{days}}, static_cast<int>(local - days * 1440)};
}

int weekdayIndex(Day day) {
    return static_cast<int>(std::chrono::weekday{day}.iso_encoding()) - 1;
}

Day weekStart(Day day) {
    return day - std::chrono::days{weekdayIndex(day)};
}

Result<Day> parseDay(std::string_view text, std::string_view field) {
    auto date = parseIsoDate(text, field);
    NP_TRY(date);
    if (static_cast<int>(date->year()) < 2000 ||
        static_cast<int>(date->year()) > kLastPlannableYear) {
        return makeError(ErrorCode::InvalidInput, std::string(field),
                         "must be a date from 2000 to " + std::to_string(kLastPlannableYear) +
                             " (the system's time-zone data ends there)");
    }
    return Day{*date};
}

std::string formatDay(Day day) {
    return formatIsoDate(std::chrono::year_month_day{day});
}

Result<int> parseClock(std::string_view text, std::string_view field) {
    auto bad = [&] {
        return makeError(
            ErrorCode::InvalidInput, std::string(field),
            "expected a time HH:MM from 00:00 to 24:00, got '" + std::string(text) + "'");
    };
    if (text.size() != 5 || text[2] != ':') {
        return bad();
    }
    for (std::size_t i : {0U, 1U, 3U, 4U}) {
        if (text[i] < '0' || text[i] > '9') {
            return bad();
        }
    }
    const int hours = (text[0] - '0') * 10 + (text[1] - '0');
    const int minutes = (text[3] - '0') * 10 + (text[4] - '0');
    if (minutes > 59 || hours > 24 || (hours == 24 && minutes != 0)) {
        return bad();
    }
    return hours * 60 + minutes;
}

std::string formatClock(int minuteOfDay) {
    char text[8];
    std::snprintf(text, sizeof text, "%02d:%02d", (minuteOfDay / 60) % 100, minuteOfDay % 60);
    return text;
}

std::string formatUtcMinutes(UtcMinutes instant) {
    const std::int64_t days = instant >= 0 ? instant / 1440 : (instant - 1439) / 1440;
    const int minute = static_cast<int>(instant - days * 1440);
    return formatDay(Day{std::chrono::days{days}}) + "T" + formatClock(minute) + ":00Z";
}

UtcMinutes toUtcMinutes(Instant instant) {
    return std::chrono::floor<std::chrono::minutes>(instant.time_since_epoch()).count();
}

}  // namespace neuroplan::scheduling

// neuroplan::scheduling — iCalendar (RFC 5545) through libical (Debian libical-dev): reading a
// clinic's closures and public holidays, and writing appointments a calendar program opens.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "scheduling/zone.h"

namespace neuroplan::scheduling {

struct Closure {
    Day day;
    std::string label;  ///< the event's SUMMARY
    std::string uid;    ///< the event's UID ("" when it has none)
};

/// Reads closures from iCalendar text. Every VEVENT must be an all-day event (DTSTART;VALUE=DATE):
/// a multi-day event (DTEND, exclusive) closes each of its days; a yearly RRULE is expanded up
/// to kLastPlannableYear. Anything else is refused as a whole, with an error whose field is
/// `origin` and whose message names the event ("event 2 'Whit Monday': ...").
Result<std::vector<Closure>> parseClosures(std::string_view text, std::string_view origin);

struct CalendarEvent {
    std::string uid;  ///< stable: the same appointment keeps its UID in every export
    UtcMinutes start = 0;
    UtcMinutes end = 0;
    std::string summary;
    std::string location;
    std::string description;
    bool cancelled = false;
    int sequence = 0;  ///< RFC 5545 SEQUENCE: how often the event was changed
};

/// An iCalendar document (VERSION 2.0, times in UTC, CRLF line ends, folded and escaped by
/// libical). `stamp` is the DTSTAMP of every event.
std::string writeCalendar(const std::vector<CalendarEvent>& events, std::string_view name,
                          UtcMinutes stamp);

}  // namespace neuroplan::scheduling

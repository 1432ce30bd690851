#include "scheduling/ical.h"

#include <libical/ical.h>

#include <chrono>
#include <memory>
#include <string>

namespace neuroplan::scheduling {

namespace {

struct ComponentDeleter {
    void operator()(icalcomponent* component) const { icalcomponent_free(component); }
};
using ComponentPtr = std::unique_ptr<icalcomponent, ComponentDeleter>;

struct IteratorDeleter {
    void operator()(icalrecur_iterator* iterator) const { icalrecur_iterator_free(iterator); }
};

Day dayOf(const icaltimetype& t) {
    return Day{std::chrono::year{t.year} / std::chrono::month{static_cast<unsigned>(t.month)} /
               std::chrono::day{static_cast<unsigned>(t.day)}};
}

icaltimetype utcTime(UtcMinutes minutes) {
    return icaltime_from_timet_with_zone(static_cast<time_t>(minutes * 60), 0,
                                         icaltimezone_get_utc_timezone());
}

std::string text(const char* value) {
    return value ? std::string(value) : std::string();
}

}  // namespace

Result<std::vector<Closure>> parseClosures(std::string_view input, std::string_view origin) {
    const std::string field(origin);
    auto bad = [&](std::string message) {
        return makeError(ErrorCode::InvalidInput, field, std::move(message));
    };
    const std::string copy(input);
    if (copy.find("BEGIN:VCALENDAR") == std::string::npos) {
        return bad("not an iCalendar file (no BEGIN:VCALENDAR)");
    }
    ComponentPtr root(icalparser_parse_string(copy.c_str()));
    if (!root) {
        return bad("not an iCalendar file (libical could not parse it)");
    }
    icalcomponent* calendar = root.get();
    if (icalcomponent_isa(calendar) != ICAL_VCALENDAR_COMPONENT) {
        calendar = icalcomponent_get_first_component(root.get(), ICAL_VCALENDAR_COMPONENT);
    }
    if (calendar == nullptr) {
        return bad("has no VCALENDAR");
    }
    if (icalproperty* error = icalcomponent_get_first_property(calendar, ICAL_XLICERROR_PROPERTY)) {
        return bad("malformed calendar: " + text(icalproperty_get_xlicerror(error)));
    }
    std::vector<Closure> closures;
    int index = 0;
    for (icalcomponent* event = icalcomponent_get_first_component(calendar, ICAL_VEVENT_COMPONENT);
         event != nullptr;
         event = icalcomponent_get_next_component(calendar, ICAL_VEVENT_COMPONENT)) {
        ++index;
        const std::string summary = text(icalcomponent_get_summary(event));
        const std::string uid = text(icalcomponent_get_uid(event));
        const std::string which = "event " + std::to_string(index) +
                                  (summary.empty() ? std::string() : " '" + summary + "'") + ": ";
        if (icalproperty* error =
                icalcomponent_get_first_property(event, ICAL_XLICERROR_PROPERTY)) {
            return bad(which + "malformed: " + text(icalproperty_get_xlicerror(error)));
        }
        icalproperty* startProperty =
            icalcomponent_get_first_property(event, ICAL_DTSTART_PROPERTY);
        if (startProperty == nullptr) {
            return bad(which + "DTSTART is missing");
        }
        const icaltimetype start = icalproperty_get_dtstart(startProperty);
        if (icaltime_is_null_time(start) || !icaltime_is_valid_time(start)) {
            return bad(which + "DTSTART is not a valid date");
        }
        if (!start.is_date) {
            return bad(which +
                       "is not an all-day event (DTSTART;VALUE=DATE); closures are whole days");
        }
        if (summary.empty()) {
            return bad(which + "SUMMARY is missing; a closure needs a name");
        }
        int days = 1;
        if (icalproperty* endProperty =
                icalcomponent_get_first_property(event, ICAL_DTEND_PROPERTY)) {
            const icaltimetype end = icalproperty_get_dtend(endProperty);
            if (!end.is_date) {
                return bad(which + "DTEND is not a date like DTSTART");
            }
            days = static_cast<int>((dayOf(end) - dayOf(start)).count());
            if (days < 1 || days > 366) {
                return bad(which + "DTEND must be 1 to 366 days after DTSTART");
            }
        }
        auto addDays = [&](Day first) -> Status {
            const int year = static_cast<int>(std::chrono::year_month_day{first}.year());
            if (year < 2000 || year > kLastPlannableYear) {
                return bad(which + "falls in " + std::to_string(year) + "; closures from 2000 to " +
                           std::to_string(kLastPlannableYear) + " are kept");
            }
            for (int d = 0; d < days; ++d) {
                closures.push_back({first + std::chrono::days{d}, summary, uid});
            }
            return {};
        };
        icalproperty* rule = icalcomponent_get_first_property(event, ICAL_RRULE_PROPERTY);
        if (rule == nullptr) {
            NP_TRY(addDays(dayOf(start)));
            continue;
        }
        const icalrecurrencetype recurrence = icalproperty_get_rrule(rule);
        if (recurrence.freq == ICAL_NO_RECURRENCE) {
            return bad(which + "RRULE is malformed");
        }
        std::unique_ptr<icalrecur_iterator, IteratorDeleter> iterator(
            icalrecur_iterator_new(recurrence, start));
        if (!iterator) {
            return bad(which + "RRULE cannot be expanded");
        }
        int occurrences = 0;
        for (icaltimetype next = icalrecur_iterator_next(iterator.get());
             !icaltime_is_null_time(next) && next.year <= kLastPlannableYear;
             next = icalrecur_iterator_next(iterator.get())) {
            if (++occurrences > 1000) {
                return bad(which + "RRULE repeats more than 1000 times before " +
                           std::to_string(kLastPlannableYear) + "; closures are whole days");
            }
            NP_TRY(addDays(dayOf(next)));
        }
    }
    if (index == 0) {
        return bad("has no VEVENT: nothing to import");
    }
    return closures;
}

std::string writeCalendar(const std::vector<CalendarEvent>& events, std::string_view name,
                          UtcMinutes stamp) {
    ComponentPtr calendar(icalcomponent_new_vcalendar());
    icalcomponent_add_property(calendar.get(), icalproperty_new_version("2.0"));
    icalcomponent_add_property(calendar.get(),
                               icalproperty_new_prodid("-//NeuroPlan//Schedule export//EN"));
    icalcomponent_add_property(calendar.get(), icalproperty_new_calscale("GREGORIAN"));
    icalcomponent_add_property(calendar.get(), icalproperty_new_method(ICAL_METHOD_PUBLISH));
    icalproperty* calendarName = icalproperty_new_x(std::string(name).c_str());
    icalproperty_set_x_name(calendarName, "X-WR-CALNAME");
    icalcomponent_add_property(calendar.get(), calendarName);
    for (const CalendarEvent& e : events) {
        icalcomponent* event = icalcomponent_new_vevent();
        icalcomponent_add_property(event, icalproperty_new_uid(e.uid.c_str()));
        icalcomponent_add_property(event, icalproperty_new_dtstamp(utcTime(stamp)));
        icalcomponent_add_property(event, icalproperty_new_dtstart(utcTime(e.start)));
        icalcomponent_add_property(event, icalproperty_new_dtend(utcTime(e.end)));
        icalcomponent_add_property(event, icalproperty_new_summary(e.summary.c_str()));
        if (!e.location.empty()) {
            icalcomponent_add_property(event, icalproperty_new_location(e.location.c_str()));
        }
        if (!e.description.empty()) {
            icalcomponent_add_property(event, icalproperty_new_description(e.description.c_str()));
        }
        icalcomponent_add_property(
            event,
            icalproperty_new_status(e.cancelled ? ICAL_STATUS_CANCELLED : ICAL_STATUS_CONFIRMED));
        icalcomponent_add_property(event, icalproperty_new_sequence(e.sequence));
        icalcomponent_add_component(calendar.get(), event);
    }
    char* serialised = icalcomponent_as_ical_string_r(calendar.get());
    std::string result = serialised ? serialised : "";
    icalmemory_free_buffer(serialised);
    return result;
}

}  // namespace neuroplan::scheduling

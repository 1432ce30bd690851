#include "base/time.h"

#include <cstdio>

namespace neuroplan {

Clock systemClock() {
    return [] { return std::chrono::system_clock::now(); };
}

namespace {

bool allDigits(std::string_view text) {
    for (char c : text) {
        if (c < '0' || c > '9') {
            return false;
        }
    }
    return !text.empty();
}

int toInt(std::string_view digits) {
    int value = 0;
    for (char c : digits) {
        value = value * 10 + (c - '0');
    }
    return value;
}

}  // namespace

Result<Date> parseIsoDate(std::string_view text, std::string_view field) {
    const auto bad = [&](std::string why) {
        return makeError(ErrorCode::InvalidInput, std::string(field), std::move(why));
    };
    if (text.size() != 10 || text[4] != '-' || text[7] != '-' || !allDigits(text.substr(0, 4)) ||
        !allDigits(text.substr(5, 2)) || !allDigits(text.substr(8, 2))) {
        return bad("expected a date as YYYY-MM-DD, got '" + std::string(text) + "'");
    }
    const Date date{std::chrono::year{toInt(text.substr(0, 4))},
                    std::chrono::month{static_cast<unsigned>(toInt(text.substr(5, 2)))},
                    std::chrono::day{static_cast<unsigned>(toInt(text.substr(8, 2)))}};
    if (!date.ok()) {
        return bad("'" + std::string(text) + "' is not a calendar date");
    }
    return date;
}

std::string formatIsoDate(Date date) {
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02u", static_cast<int>(date.year()),
                  static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
    return buffer;
}

Date utcDate(Instant instant) {
    return Date{std::chrono::floor<std::chrono::days>(instant)};
}

std::string formatUtc(Instant instant) {
    using namespace std::chrono;
    const auto day = floor<days>(instant);
    const hh_mm_ss tod{floor<milliseconds>(instant - day)};
    char buffer[40];
    std::snprintf(buffer, sizeof buffer, "%sT%02d:%02d:%02d.%03dZ",
                  formatIsoDate(Date{day}).c_str(), static_cast<int>(tod.hours().count()),
                  static_cast<int>(tod.minutes().count()), static_cast<int>(tod.seconds().count()),
                  static_cast<int>(tod.subseconds().count()));
    return buffer;
}

}  // namespace neuroplan

// neuroplan::base — calendar dates and instants as the records store them.
//
// Dates are civil dates (no zone) written YYYY-MM-DD; instants are UTC, written
// YYYY-MM-DDTHH:MM:SS.mmmZ so that text order is time order.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace neuroplan {

using Date = std::chrono::year_month_day;
using Instant = std::chrono::system_clock::time_point;

/// Where "now" comes from; tests pass a fixed one.
using Clock = std::function<Instant()>;
Clock systemClock();

/// Parses exactly YYYY-MM-DD and checks the day exists (2023-02-29 fails). `field` names the
/// input in the error.
Result<Date> parseIsoDate(std::string_view text, std::string_view field);
std::string formatIsoDate(Date date);

/// The UTC civil date of an instant.
Date utcDate(Instant instant);

/// Formats an instant as UTC with milliseconds: 2026-11-23T19:20:00.123Z.
std::string formatUtc(Instant instant);

}  // namespace neuroplan

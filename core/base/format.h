// neuroplan::base — numbers in messages for people.
#pragma once

#include <string>

namespace neuroplan {

/// A number as printf's "%g" writes it (6 significant digits, no trailing zeros): "62.4",
/// "0.004", "1e+06". For findings, log entries and other messages.
std::string formatNumber(double value);

}  // namespace neuroplan

#include "base/format.h"

#include <charconv>

namespace neuroplan {

std::string formatNumber(double value) {
    // What printf's "%g" writes, without printf's cost (eligibility formats one per finding).
    char text[32];
    const auto written =
        std::to_chars(text, text + sizeof text, value, std::chars_format::general, 6);
    return std::string(text, written.ptr);
}

}  // namespace neuroplan

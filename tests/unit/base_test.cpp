#include <gtest/gtest.h>

#include "base/result.h"
#include "base/time.h"

namespace neuroplan {
namespace {

Result<int> half(int n) {
    if (n % 2 != 0) {
        return makeError(ErrorCode::InvalidInput, "n", "is odd");
    }
    return n / 2;
}

Status halveTwice(int n, int& out) {
    auto once = half(n);
    NP_TRY(once);
    auto twice = half(*once);
    NP_TRY(twice);
    out = *twice;
    return {};
}

TEST(Result, CarriesValueOrError) {
    auto good = half(4);
    ASSERT_TRUE(good.ok());
    EXPECT_EQ(*good, 2);
    auto bad = half(3);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, ErrorCode::InvalidInput);
    EXPECT_EQ(bad.error().describe(), "n: is odd");
}

TEST(Result, TryPropagatesTheFirstError) {
    int out = 0;
    EXPECT_TRUE(halveTwice(8, out).ok());
    EXPECT_EQ(out, 2);
    const Status failed = halveTwice(6, out);
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.error().field, "n");
}

TEST(ErrorCodeNames, AreStable) {
    EXPECT_STREQ(toString(ErrorCode::InvalidInput), "invalid_input");
    EXPECT_STREQ(toString(ErrorCode::PermissionDenied), "permission_denied");
    EXPECT_STREQ(toString(ErrorCode::IncompatibleStore), "incompatible_store");
}

TEST(IsoDate, ParsesRealDates) {
    auto date = parseIsoDate("2024-02-29", "birth_date");
    ASSERT_TRUE(date.ok());
    EXPECT_EQ(formatIsoDate(*date), "2024-02-29");
}

TEST(IsoDate, RejectsImpossibleAndMalformedDates) {
    for (const char* text : {"2023-02-29", "2024-13-01", "2024-04-31", "2024-00-10", "24-01-01",
                             "2024/01/01", "2024-1-01", "", "2024-01-01x", "abcd-ef-gh"}) {
        auto date = parseIsoDate(text, "birth_date");
        ASSERT_FALSE(date.ok()) << text;
        EXPECT_EQ(date.error().field, "birth_date") << text;
        EXPECT_EQ(date.error().code, ErrorCode::InvalidInput) << text;
    }
}

TEST(UtcTime, FormatsWithMillisecondsAndZ) {
    using namespace std::chrono;
    const Instant at = sys_days{year{2026} / November / 23} + hours{19} + minutes{5} + seconds{7} +
                       milliseconds{42};
    EXPECT_EQ(formatUtc(at), "2026-11-23T19:05:07.042Z");
    EXPECT_EQ(formatIsoDate(utcDate(at)), "2026-11-23");
}

}  // namespace
}  // namespace neuroplan

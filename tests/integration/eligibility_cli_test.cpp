#include <gtest/gtest.h>

#include "support.h"

TEST(EligibilityCliPlaceholder, HelpWorks) {
    auto r = neuroplan::testing::runProcess({NEUROPLAN_CLI_PATH, "eligibility", "--help"});
    EXPECT_EQ(r.exitCode, 0);
}

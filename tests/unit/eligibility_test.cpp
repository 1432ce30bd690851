#include <gtest/gtest.h>

#include "eligibility/evaluate.h"

TEST(EligibilityPlaceholder, BuiltInRuleSetLoads) {
    EXPECT_EQ(neuroplan::eligibility::RuleSet::builtIn().id, "refractory-anxiety-v1");
}

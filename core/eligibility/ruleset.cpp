#include "eligibility/ruleset.h"

#include <sodium.h>

#include <cstdlib>
#include <iostream>

#include "eligibility/case.h"

namespace neuroplan::eligibility {

std::string_view refractoryAnxietyV1();  // embedded data/refractory-anxiety-v1.json

namespace {

using nlohmann::json;

Result<std::vector<std::string>> stringList(const json& value, const std::string& path) {
    if (!value.is_array()) {
        return makeError(ErrorCode::InvalidInput, path, "expected an array of strings");
    }
    std::vector<std::string> list;
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (!value[i].is_string()) {
            return makeError(ErrorCode::InvalidInput, indexPath(path, i), "expected a string");
        }
        list.push_back(value[i].get<std::string>());
    }
    return list;
}

template <std::size_t N>
bool oneOf(std::string_view value, const std::array<std::string_view, N>& allowed) {
    for (std::string_view a : allowed) {
        if (a == value) {
            return true;
        }
    }
    return false;
}

class Loader {
  public:
    explicit Loader(const DataFile& file) : m_file(file) {}

    Result<SourcedList> list(const JsonObject& parent, std::string_view key) const {
        auto object = parent.requiredObject(key);
        NP_TRY(object);
        NP_TRY(object->allowOnly({"value", "source", "confidence", "note"}));
        const json* value = object->find("value");
        if (value == nullptr) {
            return makeError(ErrorCode::InvalidInput, object->pathOf("value"), "required");
        }
        auto items = stringList(*value, object->pathOf("value"));
        NP_TRY(items);
        auto from = m_file.provenance(*object);
        NP_TRY(from);
        return SourcedList{*items, *from};
    }

    /// A list of screening items, each of which must be one of `known` (case-format keys).
    template <std::size_t N>
    Result<std::vector<ScreeningItem>> items(const JsonObject& parent, std::string_view key,
                                             const std::array<std::string_view, N>& known) const {
        auto array = parent.optionalArray(key);
        NP_TRY(array);
        std::vector<ScreeningItem> result;
        for (std::size_t i = 0; i < (*array)->size(); ++i) {
            auto entry = JsonObject::at((**array)[i], indexPath(parent.pathOf(key), i));
            NP_TRY(entry);
            auto item = one(*entry, known);
            NP_TRY(item);
            result.push_back(*item);
        }
        return result;
    }

    template <std::size_t N>
    Result<ScreeningItem> one(const JsonObject& entry,
                              const std::array<std::string_view, N>& known) const {
        NP_TRY(entry.allowOnly({"item", "label", "source", "confidence", "review_when"}));
        auto item = entry.requiredString("item");
        NP_TRY(item);
        if (!oneOf(*item, known)) {
            return makeError(ErrorCode::InvalidInput, entry.pathOf("item"),
                             "'" + *item + "' is not an item of the case format");
        }
        auto label = entry.requiredString("label");
        NP_TRY(label);
        auto from = m_file.provenance(entry);
        NP_TRY(from);
        return ScreeningItem{*item, *label, *from};
    }

    Result<OnLabel> onLabel(const JsonObject& parent) const {
        auto object = parent.requiredObject("on_label");
        NP_TRY(object);
        NP_TRY(object->allowOnly({"value", "reason", "source", "confidence"}));
        auto value = object->optionalBool("value");
        NP_TRY(value);
        auto reason = object->requiredString("reason");
        NP_TRY(reason);
        auto from = m_file.provenance(*object);
        NP_TRY(from);
        if (!*value) {
            return makeError(ErrorCode::InvalidInput, object->pathOf("value"), "required");
        }
        return OnLabel{**value, *reason, *from};
    }

  private:
    const DataFile& m_file;
};

}  // namespace

bool SourcedList::contains(std::string_view v) const {
    for (const auto& item : value) {
        if (item == v) {
            return true;
        }
    }
    return false;
}

std::string RuleSet::label() const {
    return id + " " + storedVersion();
}

std::string RuleSet::storedVersion() const {
    return clinicCopy ? version + " (clinic copy sha256:" + digest.substr(0, 16) + ")" : version;
}

std::string describeSource(const Provenance& from) {
    return from.citation + " [" + from.source + ", " + from.confidence + "]";
}

const Drug* RuleSet::findDrug(std::string_view agent) const {
    for (const auto& drug : drugs) {
        if (drug.agent == agent) {
            return &drug;
        }
    }
    return nullptr;
}

const SeverityRule* RuleSet::findSeverity(std::string_view instrument) const {
    for (const auto& rule : severity) {
        if (rule.instrument == instrument) {
            return &rule;
        }
    }
    return nullptr;
}

std::string_view RuleSet::builtInText() {
    return refractoryAnxietyV1();
}

Result<RuleSet> RuleSet::fromClinicCopy(std::string_view text, std::string_view origin) {
    auto rules = fromText(text, origin);
    NP_TRY(rules);
    const RuleSet& reference = builtIn();
    rules->clinicCopy = rules->digest != reference.digest;
    const Sourced<double>& weeks = rules->minWeeksAtDose;
    const Sourced<double>& bounds = reference.minWeeksAtDose;
    if (weeks.value < bounds.allowedMin || weeks.value > bounds.allowedMax) {
        char range[64];
        std::snprintf(range, sizeof range, "%g-%g", bounds.allowedMin, bounds.allowedMax);
        return makeError(ErrorCode::InvalidInput, "adequacy.min_weeks_at_dose.value",
                         std::string("must stay within ") + range + " weeks (" +
                             describeSource(bounds.from) + ")");
    }
    return rules;
}

const RuleSet& RuleSet::builtIn() {
    static const RuleSet rules = [] {
        auto parsed = fromText(builtInText(), "refractory-anxiety-v1.json");
        if (!parsed) {
            std::cerr << "built-in rule set is broken: " << parsed.error().describe() << '\n';
            std::abort();
        }
        return std::move(parsed).value();
    }();
    return rules;
}

Result<RuleSet> RuleSet::fromText(std::string_view text, std::string_view origin) {
    auto file = DataFile::parse(text, origin, "eligibility-rule-set");
    NP_TRY(file);
    const Loader load(*file);
    const JsonObject top = file->top();
    NP_TRY(top.allowOnly({"format", "kind", "id", "version", "title", "note", "sources", "adequacy",
                          "drugs", "pharmacogenomics", "severity", "minimum_age_years", "workup",
                          "comorbidities", "rtms", "vns"}));
    RuleSet rules;
    rules.id = file->id();
    rules.version = file->version();
    if (sodium_init() < 0) {
        return makeError(ErrorCode::Internal, "", "libsodium failed to initialise");
    }
    unsigned char hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(hash, reinterpret_cast<const unsigned char*>(text.data()), text.size());
    char hex[crypto_hash_sha256_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
    rules.digest = hex;

    auto adequacy = top.requiredObject("adequacy");
    NP_TRY(adequacy);
    auto weeks = file->number(*adequacy, "min_weeks_at_dose", 0.0);
    NP_TRY(weeks);
    auto sessions = file->number(*adequacy, "min_psychotherapy_sessions", 1.0);
    NP_TRY(sessions);
    auto minFailed = file->number(*adequacy, "refractory_min_adequate_failed_first_line", 1.0);
    NP_TRY(minFailed);
    auto failed = load.list(*adequacy, "failed_outcomes");
    NP_TRY(failed);
    auto firstLineTherapies = load.list(*adequacy, "first_line_psychotherapies");
    NP_TRY(firstLineTherapies);
    auto specialized = load.list(*adequacy, "specialized_psychotherapies");
    NP_TRY(specialized);
    rules.minWeeksAtDose = *weeks;
    rules.minPsychotherapySessions = *sessions;
    rules.refractoryMinAdequateFailed = *minFailed;
    rules.failedOutcomes = *failed;
    rules.firstLinePsychotherapies = *firstLineTherapies;
    rules.specializedPsychotherapies = *specialized;

    auto drugs = top.optionalArray("drugs");
    NP_TRY(drugs);
    for (std::size_t i = 0; i < (*drugs)->size(); ++i) {
        auto entry = JsonObject::at((**drugs)[i], indexPath("drugs", i));
        NP_TRY(entry);
        NP_TRY(entry->allowOnly(
            {"agent", "class", "first_line", "min_therapeutic_mg", "usual_max_mg", "note"}));
        Drug drug;
        auto agent = entry->requiredString("agent");
        NP_TRY(agent);
        auto drugClass = entry->requiredString("class");
        NP_TRY(drugClass);
        auto firstLine = entry->optionalBool("first_line");
        NP_TRY(firstLine);
        auto minDose = file->number(*entry, "min_therapeutic_mg", 0.0);
        NP_TRY(minDose);
        auto maxDose = file->number(*entry, "usual_max_mg", 0.0);
        NP_TRY(maxDose);
        if (rules.findDrug(*agent) != nullptr) {
            return makeError(ErrorCode::InvalidInput, entry->pathOf("agent"),
                             "duplicate agent '" + *agent + "'");
        }
        rules.drugs.push_back(
            Drug{*agent, *drugClass, firstLine->value_or(false), *minDose, *maxDose});
    }

    auto pgx = top.optionalArray("pharmacogenomics");
    NP_TRY(pgx);
    for (std::size_t i = 0; i < (*pgx)->size(); ++i) {
        auto entry = JsonObject::at((**pgx)[i], indexPath("pharmacogenomics", i));
        NP_TRY(entry);
        NP_TRY(entry->allowOnly({"gene", "phenotype", "agents", "effect", "advice", "strength",
                                 "source", "confidence"}));
        PgxRule rule;
        auto gene = entry->requiredString("gene");
        NP_TRY(gene);
        if (!oneOf(*gene, kGenes)) {
            return makeError(ErrorCode::InvalidInput, entry->pathOf("gene"),
                             "'" + *gene + "' is not a gene of the case format");
        }
        static constexpr std::array<std::string_view, 2> kPhenotypes{"poor", "ultrarapid"};
        auto phenotype = entry->optionalEnum("phenotype", kPhenotypes);
        NP_TRY(phenotype);
        static constexpr std::array<std::string_view, 2> kEffects{"fast_clearance", "accumulation"};
        auto effect = entry->optionalEnum("effect", kEffects);
        NP_TRY(effect);
        if (!*phenotype || !*effect) {
            return makeError(ErrorCode::InvalidInput, entry->path(),
                             "phenotype and effect are required");
        }
        auto agentList = entry->optionalArray("agents");
        NP_TRY(agentList);
        auto agents = stringList(**agentList, entry->pathOf("agents"));
        NP_TRY(agents);
        auto advice = entry->requiredString("advice");
        NP_TRY(advice);
        auto strength = entry->requiredString("strength");
        NP_TRY(strength);
        auto from = file->provenance(*entry);
        NP_TRY(from);
        rules.pharmacogenomics.push_back(
            PgxRule{*gene, **phenotype, *agents, **effect, *advice, *strength, *from});
    }

    auto severity = top.requiredObject("severity");
    NP_TRY(severity);
    auto lookback = file->number(*severity, "lookback_days", 1.0);
    NP_TRY(lookback);
    rules.lookbackDays = *lookback;
    auto instruments = severity->optionalArray("instruments");
    NP_TRY(instruments);
    for (std::size_t i = 0; i < (*instruments)->size(); ++i) {
        auto entry = JsonObject::at((**instruments)[i], indexPath("severity.instruments", i));
        NP_TRY(entry);
        NP_TRY(entry->allowOnly({"instrument", "rtms_min", "vns_min"}));
        auto instrument = entry->requiredString("instrument");
        NP_TRY(instrument);
        auto rtmsMin = file->number(*entry, "rtms_min", 0.0);
        NP_TRY(rtmsMin);
        auto vnsMin = file->number(*entry, "vns_min", 0.0);
        NP_TRY(vnsMin);
        rules.severity.push_back(SeverityRule{*instrument, *rtmsMin, *vnsMin});
    }

    auto age = file->number(top, "minimum_age_years", 0.0);
    NP_TRY(age);
    rules.minimumAgeYears = *age;

    auto workup = load.items(top, "workup", kWorkupItems);
    NP_TRY(workup);
    rules.workup = *workup;

    auto comorbidities = top.optionalArray("comorbidities");
    NP_TRY(comorbidities);
    for (std::size_t i = 0; i < (*comorbidities)->size(); ++i) {
        auto entry = JsonObject::at((**comorbidities)[i], indexPath("comorbidities", i));
        NP_TRY(entry);
        auto item = load.one(*entry, kComorbidityItems);
        NP_TRY(item);
        const json* when = entry->find("review_when");
        if (when == nullptr) {
            return makeError(ErrorCode::InvalidInput, entry->pathOf("review_when"), "required");
        }
        auto states = stringList(*when, entry->pathOf("review_when"));
        NP_TRY(states);
        rules.comorbidities.push_back(
            ComorbidityRule{item->item, item->label, *states, item->from});
    }

    auto rtms = top.requiredObject("rtms");
    NP_TRY(rtms);
    NP_TRY(
        rtms->allowOnly({"absolute_contraindications", "relative_contraindications", "on_label"}));
    auto absolute = load.items(*rtms, "absolute_contraindications", kRtmsScreeningItems);
    NP_TRY(absolute);
    auto relative = load.items(*rtms, "relative_contraindications", kRtmsScreeningItems);
    NP_TRY(relative);
    auto rtmsLabel = load.onLabel(*rtms);
    NP_TRY(rtmsLabel);
    rules.rtmsAbsolute = *absolute;
    rules.rtmsRelative = *relative;
    rules.rtmsOnLabel = *rtmsLabel;

    auto vns = top.requiredObject("vns");
    NP_TRY(vns);
    NP_TRY(vns->allowOnly(
        {"contraindications", "precautions", "surgical_clearance", "ladder", "on_label"}));
    auto contra = load.items(*vns, "contraindications", kVnsScreeningItems);
    NP_TRY(contra);
    auto precautions = load.items(*vns, "precautions", kVnsScreeningItems);
    NP_TRY(precautions);
    auto clearanceObject = vns->requiredObject("surgical_clearance");
    NP_TRY(clearanceObject);
    auto clearance = load.one(*clearanceObject, kVnsScreeningItems);
    NP_TRY(clearance);
    auto ladder = vns->requiredObject("ladder");
    NP_TRY(ladder);
    auto ladderAug = file->number(*ladder, "min_adequate_failed_augmentation", 0.0);
    NP_TRY(ladderAug);
    auto ladderSpec = file->number(*ladder, "min_adequate_failed_specialized_therapy", 0.0);
    NP_TRY(ladderSpec);
    auto ladderRtms = file->number(*ladder, "min_failed_rtms_courses", 0.0);
    NP_TRY(ladderRtms);
    auto vnsLabel = load.onLabel(*vns);
    NP_TRY(vnsLabel);
    rules.vnsContraindications = *contra;
    rules.vnsPrecautions = *precautions;
    rules.vnsSurgicalClearance = *clearance;
    rules.ladderAugmentation = *ladderAug;
    rules.ladderSpecialized = *ladderSpec;
    rules.ladderRtms = *ladderRtms;
    rules.vnsOnLabel = *vnsLabel;
    return rules;
}

}  // namespace neuroplan::eligibility

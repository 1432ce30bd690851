#include "scales/instruments.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>

namespace neuroplan::scales {

std::string_view instrumentsV1();  // embedded data/instruments-v1.json

namespace {

using nlohmann::json;

Error bad(std::string path, std::string message) {
    return makeError(ErrorCode::InvalidInput, std::move(path), std::move(message));
}

Result<std::vector<int>> intList(const json& value, const std::string& path) {
    if (!value.is_array()) {
        return bad(path, "expected an array of whole numbers");
    }
    std::vector<int> list;
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (!value[i].is_number_integer()) {
            return bad(indexPath(path, i), "expected a whole number");
        }
        list.push_back(value[i].get<int>());
    }
    return list;
}

Status loadBands(const DataFile& file, const JsonObject& entry, Instrument& instrument) {
    auto bands = entry.optionalObject("bands");
    NP_TRY(bands);
    if (!*bands) {
        return {};
    }
    auto fallback = (*bands)->requiredString("default");
    NP_TRY(fallback);
    instrument.defaultBandSet = *fallback;
    auto sets = (*bands)->optionalArray("sets");
    NP_TRY(sets);
    for (std::size_t i = 0; i < (*sets)->size(); ++i) {
        auto set = JsonObject::at((**sets)[i], indexPath((*bands)->pathOf("sets"), i));
        NP_TRY(set);
        NP_TRY(set->allowOnly({"id", "label", "source", "confidence", "bands"}));
        BandSet bandSet;
        auto id = set->requiredString("id");
        NP_TRY(id);
        auto label = set->requiredString("label");
        NP_TRY(label);
        auto from = file.provenance(*set);
        NP_TRY(from);
        bandSet.id = *id;
        bandSet.label = *label;
        bandSet.from = *from;
        auto list = set->optionalArray("bands");
        NP_TRY(list);
        int previous = instrument.totalMin - 1;
        for (std::size_t b = 0; b < (*list)->size(); ++b) {
            auto band = JsonObject::at((**list)[b], indexPath(set->pathOf("bands"), b));
            NP_TRY(band);
            auto max = band->optionalInteger("max", 0);
            NP_TRY(max);
            auto text = band->requiredString("label");
            NP_TRY(text);
            if (!*max || **max <= previous) {
                return bad(band->pathOf("max"), "bands must rise");
            }
            previous = static_cast<int>(**max);
            bandSet.bands.push_back({previous, *text});
        }
        if (previous != instrument.totalMax) {
            return bad(set->pathOf("bands"), "the last band must end at the maximum total " +
                                                 std::to_string(instrument.totalMax));
        }
        instrument.bandSets.push_back(std::move(bandSet));
    }
    if (instrument.bandSet(instrument.defaultBandSet) == nullptr) {
        return bad((*bands)->pathOf("default"), "names no band set");
    }
    return {};
}

Result<std::optional<Sourced<double>>> optionalSourced(const DataFile& file,
                                                       const JsonObject& entry,
                                                       std::string_view key) {
    if (!entry.has(key)) {
        return std::optional<Sourced<double>>{};
    }
    auto value = file.number(entry, key);
    NP_TRY(value);
    return std::optional<Sourced<double>>(*value);
}

Result<Instrument> loadInstrument(const DataFile& file, const JsonObject& entry) {
    NP_TRY(entry.allowOnly({"id",
                            "name",
                            "rater",
                            "recall",
                            "licence",
                            "items",
                            "item_min",
                            "item_max",
                            "item_values",
                            "item_labels",
                            "total_items",
                            "reverse_items",
                            "total_only",
                            "total_min",
                            "total_max",
                            "bands",
                            "response",
                            "remission",
                            "responder_at_most",
                            "alerts",
                            "screen",
                            "loinc",
                            "source",
                            "confidence"}));
    Instrument in;
    for (auto [key, target] :
         {std::pair{"id", &in.id}, std::pair{"name", &in.name}, std::pair{"rater", &in.rater}}) {
        auto text = entry.requiredString(key);
        NP_TRY(text);
        *target = *text;
    }
    auto recall = entry.optionalString("recall");
    NP_TRY(recall);
    auto licence = entry.optionalString("licence");
    NP_TRY(licence);
    in.recall = recall->value_or("");
    in.licence = licence->value_or("");
    auto totalOnly = entry.optionalBool("total_only");
    NP_TRY(totalOnly);
    in.totalOnly = totalOnly->value_or(false);
    auto from = file.provenance(entry);
    NP_TRY(from);
    in.from = *from;

    if (in.totalOnly) {
        auto lo = entry.optionalInteger("total_min", 0);
        NP_TRY(lo);
        auto hi = entry.optionalInteger("total_max", 0);
        NP_TRY(hi);
        if (!*lo || !*hi || **hi < **lo) {
            return bad(entry.path(), "a total-only instrument needs total_min <= total_max");
        }
        in.totalMin = static_cast<int>(**lo);
        in.totalMax = static_cast<int>(**hi);
    } else {
        auto items = entry.optionalInteger("items", 1);
        NP_TRY(items);
        auto lo = entry.optionalInteger("item_min", 0);
        NP_TRY(lo);
        auto hi = entry.optionalInteger("item_max", 0);
        NP_TRY(hi);
        if (!*items || !*lo || !*hi || **hi < **lo) {
            return bad(entry.path(), "needs items >= 1 and item_min <= item_max");
        }
        in.items = static_cast<int>(**items);
        in.itemMin = static_cast<int>(**lo);
        in.itemMax = static_cast<int>(**hi);
        const json* labels = entry.find("item_labels");
        if (labels != nullptr) {
            if (!labels->is_array() || static_cast<int>(labels->size()) != in.items) {
                return bad(entry.pathOf("item_labels"), "needs one label per item");
            }
            for (const json& l : *labels) {
                in.itemLabels.push_back(l.get<std::string>());
            }
        }
        if (const json* values = entry.find("item_values")) {
            if (!values->is_object()) {
                return bad(entry.pathOf("item_values"), "expected an object");
            }
            for (const auto& [item, allowed] : values->items()) {
                const int number = std::atoi(item.c_str());
                if (number < 1 || number > in.items) {
                    return bad(entry.pathOf("item_values") + "." + item, "no such item");
                }
                auto list = intList(allowed, entry.pathOf("item_values") + "." + item);
                NP_TRY(list);
                in.itemValues[number] = *list;
            }
        }
        for (auto [key, target] : {std::pair{"total_items", &in.totalItems},
                                   std::pair{"reverse_items", &in.reverseItems}}) {
            if (const json* list = entry.find(key)) {
                auto values = intList(*list, entry.pathOf(key));
                NP_TRY(values);
                for (int v : *values) {
                    if (v < 1 || v > in.items) {
                        return bad(entry.pathOf(key),
                                   "item numbers must be 1.." + std::to_string(in.items));
                    }
                }
                *target = *values;
            }
        }
        in.totalMin = 0;
        in.totalMax = 0;
        for (int item = 1; item <= in.items; ++item) {
            const bool counted =
                in.totalItems.empty() ||
                std::find(in.totalItems.begin(), in.totalItems.end(), item) != in.totalItems.end();
            if (counted) {
                const auto allowed = in.allowedValues(item);
                in.totalMin += *std::min_element(allowed.begin(), allowed.end());
                in.totalMax += *std::max_element(allowed.begin(), allowed.end());
            }
        }
    }
    NP_TRY(loadBands(file, entry, in));
    auto response = optionalSourced(file, entry, "response");
    NP_TRY(response);
    auto remission = optionalSourced(file, entry, "remission");
    NP_TRY(remission);
    auto responder = optionalSourced(file, entry, "responder_at_most");
    NP_TRY(responder);
    in.responseReductionPercent = *response;
    in.remissionAtMost = *remission;
    in.responderAtMost = *responder;

    auto alerts = entry.optionalArray("alerts");
    NP_TRY(alerts);
    for (std::size_t i = 0; i < (*alerts)->size(); ++i) {
        auto a = JsonObject::at((**alerts)[i], indexPath(entry.pathOf("alerts"), i));
        NP_TRY(a);
        auto id = a->requiredString("id");
        NP_TRY(id);
        auto item = a->optionalInteger("item", 1);
        NP_TRY(item);
        auto above = a->optionalInteger("above", 0);
        NP_TRY(above);
        auto message = a->requiredString("message");
        NP_TRY(message);
        auto alertFrom = file.provenance(*a);
        NP_TRY(alertFrom);
        if (!*item || **item > in.items || !*above) {
            return bad(a->path(), "needs an item of the instrument and 'above'");
        }
        in.alerts.push_back(
            {*id, static_cast<int>(**item), static_cast<int>(**above), *message, *alertFrom});
    }
    auto screen = entry.optionalObject("screen");
    NP_TRY(screen);
    if (*screen) {
        ScreenRule rule;
        auto minTotal = (*screen)->optionalInteger("min_total", 0);
        NP_TRY(minTotal);
        auto label = (*screen)->requiredString("label");
        NP_TRY(label);
        auto screenFrom = file.provenance(**screen);
        NP_TRY(screenFrom);
        rule.minTotal = static_cast<int>(minTotal->value_or(0));
        rule.label = *label;
        rule.from = *screenFrom;
        auto conditions = (*screen)->optionalArray("requires");
        NP_TRY(conditions);
        for (const json& r : **conditions) {
            rule.conditions.emplace_back(r.value("item", 0), r.value("at_least", 0));
        }
        in.screen = rule;
    }
    auto loinc = entry.optionalObject("loinc");
    NP_TRY(loinc);
    if (*loinc) {
        auto panel = (*loinc)->optionalString("panel");
        NP_TRY(panel);
        auto total = (*loinc)->optionalString("total");
        NP_TRY(total);
        in.loincPanel = panel->value_or("");
        in.loincTotal = total->value_or("");
    }
    return in;
}

}  // namespace

std::string describeSource(const Provenance& from) {
    return from.citation + " [" + from.source + ", " + from.confidence + "]";
}

std::vector<int> Instrument::allowedValues(int item) const {
    if (const auto it = itemValues.find(item); it != itemValues.end()) {
        return it->second;
    }
    std::vector<int> values;
    for (int v = itemMin; v <= itemMax; ++v) {
        values.push_back(v);
    }
    return values;
}

const BandSet* Instrument::bandSet(std::string_view setId) const {
    const std::string_view wanted = setId.empty() ? std::string_view(defaultBandSet) : setId;
    for (const auto& set : bandSets) {
        if (set.id == wanted) {
            return &set;
        }
    }
    return nullptr;
}

const InstrumentCatalog& InstrumentCatalog::builtIn() {
    static const InstrumentCatalog catalog = [] {
        auto parsed = fromText(instrumentsV1(), "instruments-v1.json");
        if (!parsed) {
            std::cerr << "built-in instrument catalog is broken: " << parsed.error().describe()
                      << '\n';
            std::abort();
        }
        return std::move(parsed).value();
    }();
    return catalog;
}

Result<InstrumentCatalog> InstrumentCatalog::fromText(std::string_view text,
                                                      std::string_view origin) {
    auto file = DataFile::parse(text, origin, "instrument-catalog");
    NP_TRY(file);
    InstrumentCatalog catalog;
    catalog.m_version = file->id() + " " + file->version();
    auto list = file->top().optionalArray("instruments");
    NP_TRY(list);
    for (std::size_t i = 0; i < (*list)->size(); ++i) {
        auto entry = JsonObject::at((**list)[i], indexPath("instruments", i));
        NP_TRY(entry);
        auto instrument = loadInstrument(*file, *entry);
        NP_TRY(instrument);
        if (catalog.find(instrument->id) != nullptr) {
            return bad(entry->pathOf("id"), "duplicate instrument '" + instrument->id + "'");
        }
        catalog.m_instruments.push_back(std::move(instrument).value());
    }
    return catalog;
}

const Instrument* InstrumentCatalog::find(std::string_view id) const {
    for (const auto& instrument : m_instruments) {
        if (instrument.id == id) {
            return &instrument;
        }
    }
    return nullptr;
}

namespace {

void applyBand(const Instrument& instrument, std::string_view bandSetId, Score& score) {
    const BandSet* set = instrument.bandSet(bandSetId);
    if (set == nullptr || !score.total) {
        return;
    }
    score.bandSet = set->id;
    for (const Band& band : set->bands) {
        if (*score.total <= band.max) {
            score.band = band.label;
            return;
        }
    }
}

}  // namespace

Result<Score> scoreForm(const Instrument& instrument,
                        const std::vector<std::optional<long long>>& items,
                        std::string_view bandSetId, std::string_view field) {
    if (instrument.totalOnly) {
        return bad(std::string(field),
                   instrument.name + " is recorded as a total only (" + instrument.licence + ")");
    }
    if (!bandSetId.empty() && instrument.bandSet(bandSetId) == nullptr) {
        return bad("band_set",
                   instrument.name + " has no band set '" + std::string(bandSetId) + "'");
    }
    if (static_cast<int>(items.size()) > instrument.items) {
        return bad(std::string(field), instrument.name + " has " +
                                           std::to_string(instrument.items) + " items, got " +
                                           std::to_string(items.size()));
    }
    Score score;
    score.items.resize(static_cast<std::size_t>(instrument.items));
    int total = 0;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (!items[i]) {
            continue;
        }
        const int number = static_cast<int>(i) + 1;
        const std::vector<int> allowed = instrument.allowedValues(number);
        const long long value = *items[i];
        if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
            std::string list;
            for (int a : allowed) {
                list += (list.empty() ? "" : ", ") + std::to_string(a);
            }
            return bad(indexPath(field, i), "item " + std::to_string(number) + " of " +
                                                instrument.name + " must be one of " + list +
                                                ", got " + std::to_string(value));
        }
        score.items[i] = static_cast<int>(value);
        ++score.answered;
        const bool counted = instrument.totalItems.empty() ||
                             std::find(instrument.totalItems.begin(), instrument.totalItems.end(),
                                       number) != instrument.totalItems.end();
        const bool reversed =
            std::find(instrument.reverseItems.begin(), instrument.reverseItems.end(), number) !=
            instrument.reverseItems.end();
        if (counted) {
            total += reversed ? instrument.itemMin + instrument.itemMax - static_cast<int>(value)
                              : static_cast<int>(value);
        }
    }
    for (const AlertRule& rule : instrument.alerts) {
        const auto& answer = score.items[static_cast<std::size_t>(rule.item - 1)];
        if (answer && *answer > rule.above) {
            score.alerts.push_back({rule.id, rule.message, describeSource(rule.from)});
        }
    }
    score.complete = score.answered == instrument.items;
    if (!score.complete) {
        return score;  // incomplete: no total, never a band
    }
    score.total = total;
    applyBand(instrument, bandSetId, score);
    if (instrument.screen) {
        bool positive = total >= instrument.screen->minTotal;
        for (const auto& [item, atLeast] : instrument.screen->conditions) {
            positive = positive && *score.items[static_cast<std::size_t>(item - 1)] >= atLeast;
        }
        score.screenPositive = positive;
    }
    return score;
}

Result<Score> scoreTotal(const Instrument& instrument, long long total, std::string_view bandSetId,
                         std::string_view field) {
    NP_TRY(checkTotal(instrument, total, field));
    Score score;
    score.complete = true;
    score.total = static_cast<int>(total);
    applyBand(instrument, bandSetId, score);
    return score;
}

Result<int> scoreItems(const Instrument& instrument, const std::vector<long long>& items,
                       std::string_view field) {
    if (instrument.totalOnly) {
        return bad(std::string(field), instrument.name + " is recorded as a total only");
    }
    if (static_cast<int>(items.size()) != instrument.items) {
        return bad(std::string(field), instrument.name + " has " +
                                           std::to_string(instrument.items) + " items, got " +
                                           std::to_string(items.size()));
    }
    std::vector<std::optional<long long>> answers(items.begin(), items.end());
    auto score = scoreForm(instrument, answers, "", field);
    NP_TRY(score);
    return *score->total;
}

Status checkTotal(const Instrument& instrument, long long total, std::string_view field) {
    if (total < instrument.totalMin || total > instrument.totalMax) {
        return bad(std::string(field), instrument.name + " total must be " +
                                           std::to_string(instrument.totalMin) + ".." +
                                           std::to_string(instrument.totalMax) + ", got " +
                                           std::to_string(total));
    }
    return {};
}

Progress progress(const Instrument& instrument, std::optional<int> baselineTotal, int total) {
    Progress p;
    if (instrument.responderAtMost) {
        p.response = total <= instrument.responderAtMost->value;
        return p;
    }
    if (baselineTotal && *baselineTotal > 0) {
        p.reductionPercent = 100.0 * (*baselineTotal - total) / *baselineTotal;
        if (instrument.responseReductionPercent) {
            p.response = *p.reductionPercent >= instrument.responseReductionPercent->value - 1e-9;
        }
    }
    if (instrument.remissionAtMost) {
        p.remission = total <= instrument.remissionAtMost->value;
    }
    return p;
}

}  // namespace neuroplan::scales

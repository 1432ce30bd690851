#include "scales/instruments.h"

#include <cstdlib>
#include <iostream>

namespace neuroplan::scales {

std::string_view instrumentsV1();  // embedded data/instruments-v1.json

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
        NP_TRY(entry->allowOnly({"id", "name", "rater", "items", "item_min", "item_max",
                                 "reverse_items", "total_only", "total_min", "total_max",
                                 "source", "confidence"}));
        Instrument instrument;
        auto id = entry->requiredString("id");
        NP_TRY(id);
        auto name = entry->requiredString("name");
        NP_TRY(name);
        auto rater = entry->requiredString("rater");
        NP_TRY(rater);
        auto totalOnly = entry->optionalBool("total_only");
        NP_TRY(totalOnly);
        auto from = file->provenance(*entry);
        NP_TRY(from);
        instrument.id = *id;
        instrument.name = *name;
        instrument.rater = *rater;
        instrument.totalOnly = totalOnly->value_or(false);
        instrument.from = *from;
        if (instrument.totalOnly) {
            auto lo = entry->optionalInteger("total_min", 0);
            NP_TRY(lo);
            auto hi = entry->optionalInteger("total_max", 0);
            NP_TRY(hi);
            if (!*lo || !*hi || **hi < **lo) {
                return makeError(ErrorCode::InvalidInput, entry->path(),
                                 "a total-only instrument needs total_min <= total_max");
            }
            instrument.totalMin = static_cast<int>(**lo);
            instrument.totalMax = static_cast<int>(**hi);
        } else {
            auto items = entry->optionalInteger("items", 1);
            NP_TRY(items);
            auto lo = entry->optionalInteger("item_min", 0);
            NP_TRY(lo);
            auto hi = entry->optionalInteger("item_max", 0);
            NP_TRY(hi);
            if (!*items || !*lo || !*hi || **hi < **lo) {
                return makeError(ErrorCode::InvalidInput, entry->path(),
                                 "needs items >= 1 and item_min <= item_max");
            }
            instrument.items = static_cast<int>(**items);
            instrument.itemMin = static_cast<int>(**lo);
            instrument.itemMax = static_cast<int>(**hi);
            instrument.totalMin = instrument.items * instrument.itemMin;
            instrument.totalMax = instrument.items * instrument.itemMax;
            auto reverse = entry->optionalArray("reverse_items");
            NP_TRY(reverse);
            for (const auto& r : **reverse) {
                if (!r.is_number_integer() || r.get<int>() < 1 ||
                    r.get<int>() > instrument.items) {
                    return makeError(ErrorCode::InvalidInput, entry->pathOf("reverse_items"),
                                     "item numbers must be 1.." +
                                         std::to_string(instrument.items));
                }
                instrument.reverseItems.push_back(r.get<int>());
            }
        }
        if (catalog.find(instrument.id) != nullptr) {
            return makeError(ErrorCode::InvalidInput, entry->pathOf("id"),
                             "duplicate instrument '" + instrument.id + "'");
        }
        catalog.m_instruments.push_back(std::move(instrument));
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

Result<int> scoreItems(const Instrument& instrument, const std::vector<long long>& items,
                       std::string_view field) {
    if (instrument.totalOnly) {
        return makeError(ErrorCode::InvalidInput, std::string(field),
                         instrument.name + " is recorded as a total only");
    }
    if (static_cast<int>(items.size()) != instrument.items) {
        return makeError(ErrorCode::InvalidInput, std::string(field),
                         instrument.name + " has " + std::to_string(instrument.items) +
                             " items, got " + std::to_string(items.size()));
    }
    int total = 0;
    for (std::size_t i = 0; i < items.size(); ++i) {
        const long long value = items[i];
        if (value < instrument.itemMin || value > instrument.itemMax) {
            return makeError(ErrorCode::InvalidInput, indexPath(field, i),
                             "must be " + std::to_string(instrument.itemMin) + ".." +
                                 std::to_string(instrument.itemMax) + ", got " +
                                 std::to_string(value));
        }
        const int itemNumber = static_cast<int>(i) + 1;
        bool reversed = false;
        for (int r : instrument.reverseItems) {
            reversed = reversed || r == itemNumber;
        }
        total += reversed ? instrument.itemMin + instrument.itemMax - static_cast<int>(value)
                          : static_cast<int>(value);
    }
    return total;
}

Status checkTotal(const Instrument& instrument, long long total, std::string_view field) {
    if (total < instrument.totalMin || total > instrument.totalMax) {
        return makeError(ErrorCode::InvalidInput, std::string(field),
                         instrument.name + " total must be " +
                             std::to_string(instrument.totalMin) + ".." +
                             std::to_string(instrument.totalMax) + ", got " +
                             std::to_string(total));
    }
    return {};
}

}  // namespace neuroplan::scales

// neuroplan::base — the same strict reading as JsonObject, over simdjson's read-only DOM, for
// readers on a hot path (eligibility cases: 100,000 in a few seconds, issue 3). The rules and
// messages are BasicJsonObject's (base/json_reader.h); only the JSON library differs.
//
// A FastJsonParser owns the document it parsed last: read what you need (copying strings out)
// before parsing the next one. One parser per thread.
#pragma once

#include <simdjson.h>
#include <cstdint>
#include <optional>
#include <string_view>

#include "base/json_reader.h"

namespace neuroplan {

/// The backend for simdjson's DOM. A Handle is an element (a cheap reference into the parser's
/// tape); a Ref is an element that may be absent.
struct SimdBackend {
    using Handle = simdjson::dom::element;
    using Ref = std::optional<simdjson::dom::element>;
    using ArrayRef = std::optional<simdjson::dom::array>;  // absent: an empty array
    static constexpr bool kKeysMayRepeat = true;           // simdjson keeps every member

    /// The value as T; callers have checked its type (a wrong type gives T{}).
    template <class T>
    static T get(Handle value) {
        T out{};
        [[maybe_unused]] const simdjson::error_code error = value.get(out);
        return out;
    }

    static bool present(const Ref& ref) { return ref.has_value(); }
    static Handle handle(const Ref& ref) { return *ref; }
    static Ref find(Handle object, std::string_view key);
    static const char* typeName(Handle value);
    static bool isObject(Handle value) { return value.is_object(); }
    static bool isArray(Handle value) { return value.is_array(); }
    static bool isString(Handle value) { return value.is_string(); }
    static std::string_view string(Handle value) { return get<std::string_view>(value); }
    static bool isBool(Handle value) { return value.is_bool(); }
    static bool boolean(Handle value) { return get<bool>(value); }
    static bool isNumber(Handle value) { return value.is_number(); }
    static JsonNumberKind numberKind(Handle value);
    static double asDouble(Handle value) { return get<double>(value); }
    static long long asSigned(Handle value) { return get<std::int64_t>(value); }
    static unsigned long long asUnsigned(Handle value) { return get<std::uint64_t>(value); }
    static ArrayRef array(Handle value) { return get<simdjson::dom::array>(value); }
    static ArrayRef emptyArray() { return std::nullopt; }
    template <class F>
    static void forEachKey(Handle object, F&& f) {
        simdjson::dom::object members;
        if (object.get(members) == simdjson::SUCCESS) {
            for (const auto member : members) {
                f(member.key);
            }
        }
    }
    static std::size_t size(const ArrayRef& array) { return array ? array->size() : 0; }
    /// Calls f(index, element) in order until f returns an error, which it returns.
    template <class F>
    static Status forEach(const ArrayRef& array, F&& f) {
        if (array) {
            std::size_t index = 0;
            for (const simdjson::dom::element element : *array) {
                NP_TRY(f(index++, element));
            }
        }
        return {};
    }
};

extern template class BasicJsonObject<SimdBackend>;
using FastJsonObject = BasicJsonObject<SimdBackend>;

/// Parses JSON text into the parser's document. Fails (without a message worth showing) on
/// anything simdjson refuses; callers fall back to parseJsonText for the byte-offset message.
class FastJsonParser {
  public:
    std::optional<simdjson::dom::element> parse(std::string_view text);

  private:
    simdjson::dom::parser m_parser;
};

}  // namespace neuroplan

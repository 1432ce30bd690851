// neuroplan::base — strict reading of JSON from outside (case files, protocol files, clinical
// data files). Every error names the path of the offending value, e.g.
// "trials[1].weeks_at_dose", so a person can find it. `null` counts as absent.
//
// The reading rules (types, ranges, enums, unknown keys, messages) are written once, in
// BasicJsonObject, over a small *backend* that knows one JSON library's value type:
//   - JsonObject     (NlohmannBackend, this header): nlohmann-json documents; used everywhere.
//   - FastJsonObject (SimdBackend, base/json_fast.h): simdjson's read-only DOM, for readers on a
//     hot path (eligibility cases, issue 3). Same rules, same messages.
#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "base/result.h"

namespace neuroplan {

/// How a JSON number was written: a whole number (signed or too big for it) or not.
enum class JsonNumberKind { Signed, Unsigned, Float };

/// The backend for nlohmann-json. A Handle is a pointer to a node; a Ref is a Handle that may be
/// null (absent); an ArrayRef is the array's node.
struct NlohmannBackend {
    using Handle = const nlohmann::json*;
    using Ref = const nlohmann::json*;
    using ArrayRef = const nlohmann::json*;
    static constexpr bool kKeysMayRepeat = false;  // the DOM keeps the last of repeated keys

    static bool present(Ref ref) { return ref != nullptr; }
    static Handle handle(Ref ref) { return ref; }
    static Ref find(Handle object, std::string_view key);
    static const char* typeName(Handle value);
    static bool isObject(Handle value) { return value->is_object(); }
    static bool isArray(Handle value) { return value->is_array(); }
    static bool isString(Handle value) { return value->is_string(); }
    static std::string_view string(Handle value) { return value->get_ref<const std::string&>(); }
    static bool isBool(Handle value) { return value->is_boolean(); }
    static bool boolean(Handle value) { return value->get<bool>(); }
    static bool isNumber(Handle value) { return value->is_number(); }
    static JsonNumberKind numberKind(Handle value);
    static double asDouble(Handle value) { return value->get<double>(); }
    static long long asSigned(Handle value) { return value->get<long long>(); }
    static unsigned long long asUnsigned(Handle value) { return value->get<unsigned long long>(); }
    static ArrayRef array(Handle value) { return value; }
    static ArrayRef emptyArray();
    template <class F>
    static void forEachKey(Handle object, F&& f) {
        for (const auto& member : object->get_ref<const nlohmann::json::object_t&>()) {
            f(std::string_view(member.first));
        }
    }
    static std::size_t size(ArrayRef array) { return array->size(); }
    /// Calls f(index, element) in order until f returns an error, which it returns.
    template <class F>
    static Status forEach(ArrayRef array, F&& f) {
        for (std::size_t i = 0; i < array->size(); ++i) {
            NP_TRY(f(i, &(*array)[i]));
        }
        return {};
    }
};

/// A JSON object at a known path, read one member at a time with type checks.
template <class Backend>
class BasicJsonObject {
  public:
    using Handle = typename Backend::Handle;
    using Ref = typename Backend::Ref;
    using ArrayRef = typename Backend::ArrayRef;

    /// Fails unless `value` is an object.
    static Result<BasicJsonObject> at(Handle value, std::string path);
    /// For backends whose Handle is a pointer to the node (nlohmann): `at(node, path)`.
    template <class Node>
    requires std::is_same_v<Handle, const Node*>
    static Result<BasicJsonObject> at(const Node& value, std::string path) {
        return at(&value, std::move(path));
    }

    const std::string& path() const { return m_path; }
    std::string pathOf(std::string_view key) const;
    bool has(std::string_view key) const;
    /// The member, or absent when missing or null.
    Ref find(std::string_view key) const;

    /// Refuses any member not in `known` (a typo must not silently become "unknown"), and a key
    /// written twice.
    Status allowOnly(std::initializer_list<std::string_view> known) const;
    Status allowOnly(std::span<const std::string_view> known) const;

    Result<std::optional<std::string>> optionalString(std::string_view key) const;
    Result<std::string> requiredString(std::string_view key) const;
    /// A string that must be one of `allowed`; the error lists them.
    Result<std::optional<std::string>> optionalEnum(
        std::string_view key, std::span<const std::string_view> allowed) const;
    Result<std::optional<bool>> optionalBool(std::string_view key) const;
    /// A finite number >= `min`.
    Result<std::optional<double>> optionalNumber(std::string_view key, double min) const;
    Result<double> requiredNumber(std::string_view key, double min) const;
    /// An integer >= `min` (a number written with a zero fraction, `2.0`, counts).
    Result<std::optional<long long>> optionalInteger(std::string_view key, long long min) const;
    /// The same rule for a value that is not a member (an array element) at `path`.
    static Result<long long> integerAt(Handle value, const std::string& path, long long min);
    Result<std::optional<BasicJsonObject>> optionalObject(std::string_view key) const;
    Result<BasicJsonObject> requiredObject(std::string_view key) const;
    /// An array (possibly empty); absent gives an empty array.
    Result<ArrayRef> optionalArray(std::string_view key) const;

  private:
    BasicJsonObject(Handle value, std::string path) : m_value(value), m_path(std::move(path)) {}
    Error wrongType(std::string_view key, std::string_view expected) const;

    Handle m_value;
    std::string m_path;
};

extern template class BasicJsonObject<NlohmannBackend>;
using JsonObject = BasicJsonObject<NlohmannBackend>;

/// Parses JSON text; a syntax error names `origin` and the byte offset.
Result<nlohmann::json> parseJsonText(std::string_view text, std::string_view origin);

/// "path[index]".
std::string indexPath(std::string_view path, std::size_t index);

/// The JSON type name of a value, for messages ("string", "number", ...).
const char* jsonTypeName(const nlohmann::json& value);

}  // namespace neuroplan

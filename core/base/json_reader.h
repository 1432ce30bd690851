// neuroplan::base — strict reading of JSON from outside (case files, protocol files, clinical
// data files). Every error names the path of the offending value, e.g.
// "trials[1].weeks_at_dose", so a person can find it. `null` counts as absent.
#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"

namespace neuroplan {

/// Parses JSON text; a syntax error names `origin` and the byte offset.
Result<nlohmann::json> parseJsonText(std::string_view text, std::string_view origin);

/// A JSON object at a known path, read one member at a time with type checks.
class JsonObject {
  public:
    /// Fails unless `value` is an object.
    static Result<JsonObject> at(const nlohmann::json& value, std::string path);

    const std::string& path() const { return m_path; }
    std::string pathOf(std::string_view key) const;
    bool has(std::string_view key) const;
    const nlohmann::json* find(std::string_view key) const;

    /// Refuses any member not in `known` (a typo must not silently become "unknown").
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
    /// An integer >= `min`.
    Result<std::optional<long long>> optionalInteger(std::string_view key, long long min) const;
    Result<std::optional<JsonObject>> optionalObject(std::string_view key) const;
    Result<JsonObject> requiredObject(std::string_view key) const;
    /// An array (possibly empty); absent gives an empty array.
    Result<const nlohmann::json*> optionalArray(std::string_view key) const;

  private:
    JsonObject(const nlohmann::json* value, std::string path)
        : m_value(value), m_path(std::move(path)) {}
    Error wrongType(std::string_view key, std::string_view expected) const;

    const nlohmann::json* m_value;
    std::string m_path;
};

/// "path[index]".
std::string indexPath(std::string_view path, std::size_t index);

/// The JSON type name of a value, for messages ("string", "number", ...).
const char* jsonTypeName(const nlohmann::json& value);

}  // namespace neuroplan

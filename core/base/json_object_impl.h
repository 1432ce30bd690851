// neuroplan::base — the reading rules of BasicJsonObject, written once for every backend.
// Included only by the .cpp files that instantiate a backend (json_reader.cpp for nlohmann,
// json_fast.cpp for simdjson); everyone else uses the extern instantiations.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include "base/json_reader.h"

namespace neuroplan {

namespace json_detail {

inline std::string joinAllowed(std::span<const std::string_view> allowed) {
    std::string text;
    for (std::size_t i = 0; i < allowed.size(); ++i) {
        text += (i == 0 ? "" : i + 1 == allowed.size() ? " or " : ", ");
        text += allowed[i];
    }
    return text;
}

inline Error invalid(std::string path, std::string message) {
    return makeError(ErrorCode::InvalidInput, std::move(path), std::move(message));
}

}  // namespace json_detail

template <class B>
Result<BasicJsonObject<B>> BasicJsonObject<B>::at(Handle value, std::string path) {
    if (!B::isObject(value)) {
        return json_detail::invalid(path.empty() ? "(document)" : path,
                                    std::string("expected an object, got ") + B::typeName(value));
    }
    return BasicJsonObject(value, std::move(path));
}

template <class B>
std::string BasicJsonObject<B>::pathOf(std::string_view key) const {
    return m_path.empty() ? std::string(key) : m_path + "." + std::string(key);
}

template <class B>
typename B::Ref BasicJsonObject<B>::find(std::string_view key) const {
    return B::find(m_value, key);
}

template <class B>
bool BasicJsonObject<B>::has(std::string_view key) const {
    return B::present(find(key));
}

template <class B>
Error BasicJsonObject<B>::wrongType(std::string_view key, std::string_view expected) const {
    return json_detail::invalid(pathOf(key), "expected " + std::string(expected) + ", got " +
                                                 B::typeName(B::handle(find(key))));
}

template <class B>
Status BasicJsonObject<B>::allowOnly(std::initializer_list<std::string_view> known) const {
    return allowOnly(std::span<const std::string_view>(known.begin(), known.size()));
}

template <class B>
Status BasicJsonObject<B>::allowOnly(std::span<const std::string_view> known) const {
    std::optional<Error> error;
    [[maybe_unused]] std::vector<std::string_view> seen;
    B::forEachKey(m_value, [&](std::string_view key) {
        if (error) {
            return;
        }
        if (std::find(known.begin(), known.end(), key) == known.end()) {
            error = json_detail::invalid(pathOf(key), "unknown key");
            return;
        }
        if constexpr (B::kKeysMayRepeat) {
            if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
                error = json_detail::invalid(pathOf(key), "is given twice");
                return;
            }
            seen.push_back(key);
        }
    });
    if (error) {
        return std::move(*error);
    }
    return {};
}

template <class B>
Result<std::optional<std::string>> BasicJsonObject<B>::optionalString(std::string_view key) const {
    const Ref value = find(key);
    if (!B::present(value)) {
        return std::optional<std::string>{};
    }
    if (!B::isString(B::handle(value))) {
        return wrongType(key, "a string");
    }
    return std::optional<std::string>(B::string(B::handle(value)));
}

template <class B>
Result<std::string> BasicJsonObject<B>::requiredString(std::string_view key) const {
    auto value = optionalString(key);
    NP_TRY(value);
    if (!*value) {
        return json_detail::invalid(pathOf(key), "required");
    }
    return **value;
}

template <class B>
Result<std::optional<std::string>> BasicJsonObject<B>::optionalEnum(
    std::string_view key, std::span<const std::string_view> allowed) const {
    const Ref value = find(key);
    if (!B::present(value)) {
        return std::optional<std::string>{};
    }
    if (!B::isString(B::handle(value))) {
        return wrongType(key, "a string");
    }
    // Compared in place, so that only an allowed value is copied.
    const std::string_view text = B::string(B::handle(value));
    if (std::find(allowed.begin(), allowed.end(), text) != allowed.end()) {
        return std::optional<std::string>(text);
    }
    return json_detail::invalid(pathOf(key), "'" + std::string(text) + "' is not one of " +
                                                 json_detail::joinAllowed(allowed));
}

template <class B>
Result<std::optional<bool>> BasicJsonObject<B>::optionalBool(std::string_view key) const {
    const Ref value = find(key);
    if (!B::present(value)) {
        return std::optional<bool>{};
    }
    if (!B::isBool(B::handle(value))) {
        return wrongType(key, "true or false");
    }
    return std::optional<bool>(B::boolean(B::handle(value)));
}

template <class B>
Result<std::optional<double>> BasicJsonObject<B>::optionalNumber(std::string_view key,
                                                                 double min) const {
    const Ref value = find(key);
    if (!B::present(value)) {
        return std::optional<double>{};
    }
    if (!B::isNumber(B::handle(value))) {
        return wrongType(key, "a number");
    }
    const double number = B::asDouble(B::handle(value));
    if (!std::isfinite(number)) {
        return json_detail::invalid(pathOf(key), "must be a finite number");
    }
    if (number < min) {
        char text[64];
        std::snprintf(text, sizeof text, "%g", min);
        return json_detail::invalid(pathOf(key), std::string("must be at least ") + text);
    }
    return std::optional<double>(number);
}

template <class B>
Result<double> BasicJsonObject<B>::requiredNumber(std::string_view key, double min) const {
    auto value = optionalNumber(key, min);
    NP_TRY(value);
    if (!*value) {
        return json_detail::invalid(pathOf(key), "required");
    }
    return **value;
}

template <class B>
Result<long long> BasicJsonObject<B>::integerAt(Handle value, const std::string& path,
                                                long long min) {
    const auto atLeast = [&](long long number) -> Result<long long> {
        if (number < min) {
            return json_detail::invalid(path, "must be at least " + std::to_string(min));
        }
        return number;
    };
    const auto notWhole = [&] {
        return json_detail::invalid(
            path, std::string("expected a whole number, got ") + B::typeName(value));
    };
    if (!B::isNumber(value)) {
        return notWhole();
    }
    switch (B::numberKind(value)) {
        case JsonNumberKind::Signed:
            return atLeast(B::asSigned(value));
        case JsonNumberKind::Unsigned:
            if (B::asUnsigned(value) >
                static_cast<unsigned long long>(std::numeric_limits<long long>::max())) {
                return json_detail::invalid(path, "is too large");
            }
            return atLeast(static_cast<long long>(B::asUnsigned(value)));
        case JsonNumberKind::Float:
            break;
    }
    const double d = B::asDouble(value);
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) {
        return atLeast(static_cast<long long>(d));
    }
    return notWhole();
}

template <class B>
Result<std::optional<long long>> BasicJsonObject<B>::optionalInteger(std::string_view key,
                                                                     long long min) const {
    const Ref value = find(key);
    if (!B::present(value)) {
        return std::optional<long long>{};
    }
    auto number = integerAt(B::handle(value), pathOf(key), min);
    NP_TRY(number);
    return std::optional<long long>(*number);
}

template <class B>
Result<std::optional<BasicJsonObject<B>>> BasicJsonObject<B>::optionalObject(
    std::string_view key) const {
    const Ref value = find(key);
    if (!B::present(value)) {
        return std::optional<BasicJsonObject>{};
    }
    if (!B::isObject(B::handle(value))) {
        return wrongType(key, "an object");
    }
    return std::optional<BasicJsonObject>(BasicJsonObject(B::handle(value), pathOf(key)));
}

template <class B>
Result<BasicJsonObject<B>> BasicJsonObject<B>::requiredObject(std::string_view key) const {
    auto value = optionalObject(key);
    NP_TRY(value);
    if (!*value) {
        return json_detail::invalid(pathOf(key), "required");
    }
    return **value;
}

template <class B>
Result<typename B::ArrayRef> BasicJsonObject<B>::optionalArray(std::string_view key) const {
    const Ref value = find(key);
    if (!B::present(value)) {
        return B::emptyArray();
    }
    if (!B::isArray(B::handle(value))) {
        return wrongType(key, "an array");
    }
    return B::array(B::handle(value));
}

}  // namespace neuroplan

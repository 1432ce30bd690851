// neuroplan::base — the bottom layer every module may use: the house result type.
//
// Domain and protocol code return errors as values. An Error carries a code the caller can
// branch on, the field it concerns (snake_case path into the input, e.g. "birth_date" or
// "trials[1].weeks_at_dose"; empty when no single field is at fault) and a message for people.
#pragma once

#include <cassert>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace neuroplan {

enum class ErrorCode {
    InvalidInput,       ///< a value from outside is malformed or out of range
    NotFound,           ///< the named thing does not exist
    Conflict,           ///< the write would break a uniqueness or state rule
    Unauthenticated,    ///< unknown user or wrong password
    PermissionDenied,   ///< the user's role may not do this
    IncompatibleStore,  ///< the database is not ours, or newer than this program
    Storage,            ///< SQLite or the file system failed
    Internal,           ///< a bug: an invariant did not hold
};

/// Short stable name of a code ("invalid_input", ...), for JSON output and logs.
const char* toString(ErrorCode code);

struct Error {
    ErrorCode code = ErrorCode::Internal;
    std::string field;
    std::string message;

    /// "field: message", or the message alone when no field is named.
    std::string describe() const;
};

inline Error makeError(ErrorCode code, std::string field, std::string message) {
    return Error{code, std::move(field), std::move(message)};
}

/// Either a value or an Error. Deliberately small: std::expected arrives with C++23, and
/// Debian 12 packages no expected-like library.
template <class T>
class [[nodiscard]] Result {
  public:
    Result(T value) : m_state(std::in_place_index<0>, std::move(value)) {}      // NOLINT
    Result(Error error) : m_state(std::in_place_index<1>, std::move(error)) {}  // NOLINT

    bool ok() const { return m_state.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & {
        assert(ok());
        return std::get<0>(m_state);
    }
    const T& value() const& {
        assert(ok());
        return std::get<0>(m_state);
    }
    T&& value() && {
        assert(ok());
        return std::get<0>(std::move(m_state));
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const Error& error() const {
        assert(!ok());
        return std::get<1>(m_state);
    }

  private:
    std::variant<T, Error> m_state;
};

/// Result of an operation that yields nothing but success or an Error.
template <>
class [[nodiscard]] Result<void> {
  public:
    Result() = default;
    Result(Error error) : m_error(std::move(error)), m_failed(true) {}  // NOLINT

    bool ok() const { return !m_failed; }
    explicit operator bool() const { return ok(); }
    const Error& error() const {
        assert(m_failed);
        return m_error;
    }

  private:
    Error m_error;
    bool m_failed = false;
};

using Status = Result<void>;

}  // namespace neuroplan

/// Propagate a failed Result/Status from the enclosing function. The temporary's name is made
/// unique so that NP_TRY may nest (a write lambda inside an NP_TRY uses NP_TRY itself).
#define NP_TRY_CONCAT_INNER(a, b) a##b
#define NP_TRY_CONCAT(a, b) NP_TRY_CONCAT_INNER(a, b)
#define NP_TRY(expr) NP_TRY_IMPL(expr, NP_TRY_CONCAT(np_try_result_, __COUNTER__))
#define NP_TRY_IMPL(expr, name)  \
    do {                         \
        auto&& name = (expr);    \
        if (!name.ok()) {        \
            return name.error(); \
        }                        \
    } while (false)

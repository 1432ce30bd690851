// Test helpers shared by every suite: temporary directories, running the real binaries with a
// deadline, and a clinic database with one user of each role.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "records/users.h"
#include "store/store.h"

namespace neuroplan::testing {

/// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
  public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return m_path; }
    std::filesystem::path operator/(const std::string& name) const { return m_path / name; }

  private:
    std::filesystem::path m_path;
};

struct ProcessResult {
    int exitCode = -1;  ///< -1 when killed (timeout or signal)
    bool timedOut = false;
    std::string out;
    std::string err;
};

/// Runs a program with extra environment variables and stdin closed; kills it after
/// `timeout`. Never throws.
ProcessResult runProcess(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));

/// A program running in the background (e.g. neurosim) whose stdout can be read line by line;
/// SIGTERM then SIGKILL on destruction.
class BackgroundProcess {
  public:
    explicit BackgroundProcess(const std::vector<std::string>& argv);
    ~BackgroundProcess();
    BackgroundProcess(const BackgroundProcess&) = delete;
    BackgroundProcess& operator=(const BackgroundProcess&) = delete;
    bool running() const { return m_pid > 0; }
    /// The next line of stdout, or empty after `timeout` or end of output.
    std::string readLine(std::chrono::milliseconds timeout = std::chrono::seconds(10));
    /// Sends SIGKILL (a device that loses power) and reaps the process.
    void kill();

  private:
    int m_pid = -1;
    int m_out = -1;
    std::string m_pending;
};

/// The port at the end of a "neurosim: listening KIND SERIAL HOST:PORT" line; 0 if none.
/// (No std::regex: GCC 12 warns inside <regex> under the sanitizer build's -Werror.)
std::uint16_t listeningPort(const std::string& line);

/// Reads a whole file as bytes.
std::string readFile(const std::filesystem::path& path);

/// Every password the fixtures create.
inline constexpr const char* kTestPassword = "correct-horse-battery";

/// A clinic database in a temp dir, with an admin, a technician and a physician.
struct TestClinic {
    TestClinic();
    std::filesystem::path dbPath() const { return dir / "clinic.db"; }

    TempDir dir;
    std::unique_ptr<store::Store> store;
    records::Actor admin;
    records::Actor technician;
    records::Actor physician;
};

/// A fixed clock for deterministic timestamps: 2026-01-15T10:00:00Z.
Clock fixedClock();

}  // namespace neuroplan::testing

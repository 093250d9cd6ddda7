// afpool bench harness: what a hosts mask costs afserver 3.4's scheduler. afserver checks a job's
// masks with libstdc++ std::regex (ECMAScript, case-sensitive) and regex_match, once for every
// (job, ready render) pair on every solve pass; this times exactly that call, and the compile.
//
// Built by scripts/bench.sh with g++ -O2 at run time (examples/mask_cost.rs writes its input).
// stdin, one record per mask, every string hex-encoded:
//   P <label> <hex>    the mask
//   T <hex>            a host name to time regex_match on (the farm)
//   C <0|1> <hex>      a name and whether regex_match must match it (exactness)
//   E                  end of the record
// stdout, one line per record:
//   <label> ERR <what>                                        std::regex refuses the mask
//   <label> OK <bytes> <states> <compile_us> <ns_per_check> <checked> <wrong> [<first wrong>]
// Timing: the compile repeated for at least 0.2 s (at least 3 times), its median; regex_match
// over the whole farm, repeated for at least 0.3 s, the best of 5 such rounds per check.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

namespace {

// The NFA's size is private to std::regex; an explicit instantiation may name a private member
// (the standard exempts it from access checks), which is how this bench tool reads it.
using Nfa = std::__detail::_NFA<std::regex_traits<char>>;
struct AutomatonTag {
    using type = std::shared_ptr<const Nfa> std::regex::*;
};
template <class Tag, typename Tag::type Member> struct Robber {
    friend typename Tag::type member(Tag) { return Member; }
};
AutomatonTag::type member(AutomatonTag);
template struct Robber<AutomatonTag, &std::regex::_M_automaton>;

std::size_t states(const std::regex &re) { return (re.*member(AutomatonTag{}))->size(); }

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string unhex(const std::string &hex) {
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
}

struct Record {
    std::string label, pattern;
    std::vector<std::string> farm;
    std::vector<std::pair<bool, std::string>> checks;
};

double compile_us(const std::string &pattern) {
    std::vector<double> runs;
    auto start = Clock::now();
    while (runs.size() < 3 || seconds_since(start) < 0.2) {
        auto t = Clock::now();
        std::regex re(pattern);
        runs.push_back(seconds_since(t) * 1e6);
        if (runs.size() >= 1000)
            break;
    }
    std::sort(runs.begin(), runs.end());
    return runs[runs.size() / 2];
}

double ns_per_check(const std::regex &re, const std::vector<std::string> &farm) {
    if (farm.empty())
        return 0;
    double best = 1e300;
    volatile std::size_t sink = 0;
    for (int round = 0; round < 5; ++round) {
        std::size_t checks = 0;
        auto start = Clock::now();
        do {
            for (const auto &name : farm)
                sink = sink + std::regex_match(name, re);
            checks += farm.size();
        } while (seconds_since(start) < 0.3);
        best = std::min(best, seconds_since(start) * 1e9 / static_cast<double>(checks));
    }
    return best;
}

void run(const Record &r) {
    std::regex re;
    try {
        re = std::regex(r.pattern);
    } catch (const std::regex_error &e) {
        std::cout << r.label << " ERR " << e.what() << std::endl;
        return;
    }
    std::size_t wrong = 0;
    std::string first;
    for (const auto &[want, name] : r.checks) {
        if (std::regex_match(name, re) != want) {
            if (wrong++ == 0)
                first = name.empty() ? "(empty)" : name;
        }
    }
    double compile = compile_us(r.pattern);
    double check = ns_per_check(re, r.farm);
    std::cout << r.label << " OK " << r.pattern.size() << " " << states(re) << " " << compile << " "
              << check << " " << r.checks.size() << " " << wrong;
    if (wrong)
        std::cout << " " << first;
    std::cout << std::endl;
}

} // namespace

int main() {
    std::ios::sync_with_stdio(false);
    Record r;
    std::string line;
    while (std::getline(std::cin, line)) {
        if (line.rfind("P ", 0) == 0) {
            auto space = line.find(' ', 2);
            r = Record{};
            r.label = line.substr(2, space - 2);
            r.pattern = unhex(line.substr(space + 1));
        } else if (line.rfind("T ", 0) == 0) {
            r.farm.push_back(unhex(line.substr(2)));
        } else if (line.rfind("C ", 0) == 0) {
            r.checks.emplace_back(line[2] == '1', unhex(line.substr(4)));
        } else if (line == "E") {
            run(r);
        }
    }
    return 0;
}

// afpool test harness: how afserver 3.4 (libstdc++ std::regex, ECMAScript, regex_match) reads a
// mask. stdin: the pattern on the first line, then one name per line. stdout: "ERROR <what>" when
// std::regex refuses the pattern, else one line per name, 1 when the whole name matches, else 0.
// With the argument "icase" the pattern is compiled case-insensitively, as afserver 3.3 did.
//
// With the argument "batch" it reads many patterns in one run, every byte hex-encoded so that a
// pattern may hold any byte: "P <hex>" starts a pattern, "N <hex>" adds a name, "E" ends the
// record. For each record it prints one line: "ERR <code> <what>" when std::regex refuses the
// pattern, else "OK <states> <exact> <icase>", where <states> is the size of libstdc++'s NFA and
// <exact>/<icase> hold one 0/1 per name ("-" for none; <icase> is "E" if only icase refuses).
// A record that takes more than a minute (catastrophic backtracking) prints "TIMEOUT" and ends
// the run with status 3.
#include <csignal>
#include <iostream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

// The NFA's size is private to std::regex; an explicit instantiation may name a private member
// (the standard exempts it from access checks), which is how this test-only tool reads it.
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

std::string unhex(const std::string &hex) {
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
}

std::string bits(const std::regex &re, const std::vector<std::string> &names) {
    std::string out;
    for (const auto &n : names)
        out.push_back(std::regex_match(n, re) ? '1' : '0');
    return out.empty() ? "-" : out;
}

void record(const std::string &pattern, const std::vector<std::string> &names) {
    std::regex exact, icase;
    try {
        exact = std::regex(pattern);
    } catch (const std::regex_error &e) {
        std::cout << "ERR " << static_cast<int>(e.code()) << " " << e.what() << std::endl;
        return;
    }
    std::string icase_bits;
    try {
        icase = std::regex(pattern, std::regex_constants::ECMAScript | std::regex_constants::icase);
        icase_bits = bits(icase, names);
    } catch (const std::regex_error &) {
        icase_bits = "E";
    }
    std::cout << "OK " << states(exact) << " " << bits(exact, names) << " " << icase_bits
              << std::endl;
}

extern "C" void timeout(int) {
    static const char msg[] = "TIMEOUT\n";
    (void)!write(STDOUT_FILENO, msg, sizeof msg - 1);
    _exit(3);
}

int batch() {
    std::signal(SIGALRM, timeout);
    std::string line, pattern;
    std::vector<std::string> names;
    while (std::getline(std::cin, line)) {
        if (line.rfind("P ", 0) == 0) {
            pattern = unhex(line.substr(2));
            names.clear();
        } else if (line.rfind("N ", 0) == 0) {
            names.push_back(unhex(line.substr(2)));
        } else if (line == "E") {
            alarm(60);
            record(pattern, names);
            alarm(0);
        }
    }
    return 0;
}

} // namespace

int main(int argc, char **argv) {
    if (argc > 1 && std::string(argv[1]) == "batch")
        return batch();
    auto flags = std::regex_constants::ECMAScript;
    if (argc > 1 && std::string(argv[1]) == "icase")
        flags |= std::regex_constants::icase;
    std::string pattern;
    std::getline(std::cin, pattern);
    std::regex re;
    try {
        re = std::regex(pattern, flags);
    } catch (const std::regex_error &e) {
        std::cout << "ERROR " << e.what() << "\n";
        return 0;
    }
    std::string name;
    while (std::getline(std::cin, name))
        std::cout << (std::regex_match(name, re) ? '1' : '0') << "\n";
    return 0;
}

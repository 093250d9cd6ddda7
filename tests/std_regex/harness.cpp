// afpool test harness: how afserver 3.4 (libstdc++ std::regex, ECMAScript, regex_match) reads a
// mask. stdin: the pattern on the first line, then one name per line. stdout: "ERROR <what>" when
// std::regex refuses the pattern, else one line per name, 1 when the whole name matches, else 0.
// With the argument "icase" the pattern is compiled case-insensitively, as afserver 3.3 did.
#include <iostream>
#include <regex>
#include <string>

int main(int argc, char **argv) {
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

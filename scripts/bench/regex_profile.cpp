// afpool bench tool: the instructions one hosts-mask check costs afserver 3.4's scheduler, for a
// profiler. Compiles one mask (libstdc++ std::regex, ECMAScript, as afserver does) and runs
// regex_match over a list of host names REPS times; run it under callgrind twice (REPS 0 and N)
// and the difference, divided by N x names, is one check:
//
//   g++ -std=c++17 -O2 -g -o regex_profile scripts/bench/regex_profile.cpp
//   valgrind --tool=callgrind --callgrind-out-file=cg.N ./regex_profile MASK_FILE NAMES_FILE N
//   callgrind_annotate --inclusive=no --auto=no cg.N
//
// MASK_FILE holds the mask text (e.g. the hosts_mask_exclude afpool wrote), NAMES_FILE one host
// name per line. Prints how many names the mask matched.
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

int main(int argc, char **argv) {
    if (argc != 4) {
        std::cerr << "usage: regex_profile MASK_FILE NAMES_FILE REPS\n";
        return 2;
    }
    std::ifstream mask_file(argv[1]);
    std::stringstream mask;
    mask << mask_file.rdbuf();
    std::ifstream names_file(argv[2]);
    std::vector<std::string> names;
    for (std::string line; std::getline(names_file, line);)
        names.push_back(line);
    const std::regex re(mask.str(), std::regex::ECMAScript);
    const int reps = std::atoi(argv[3]);
    long matched = 0;
    for (int r = 0; r < reps; r++)
        for (const auto &name : names)
            matched += std::regex_match(name, re);
    std::cout << matched << "\n";
}

#include <algorithm>
#include <map>

#include "wasitest.h"
#include "../src/shapes.hpp"

TEST(virtual_dispatch) {
    std::vector<std::unique_ptr<Shape>> shapes;
    shapes.push_back(std::make_unique<Rect>(2, 3));
    shapes.push_back(std::make_unique<Square>(4));
    CHECK(total_area(shapes) == 22.0);
    CHECK_EQ_STR(shapes[0]->name().c_str(), "rect 2x3");
    CHECK_EQ_STR(shapes[1]->name().c_str(), "square 4");
}

TEST(containers_and_algorithms) {
    std::vector<int> v{5, 1, 4, 1, 3};
    std::sort(v.begin(), v.end());
    CHECK(std::is_sorted(v.begin(), v.end()));
    v.erase(std::unique(v.begin(), v.end()), v.end());
    CHECK_EQ_INT(v.size(), 4);
    std::map<std::string, int> counts;
    for (const char *word : {"wasm", "wasi", "wasm"}) counts[word]++;
    CHECK_EQ_INT(counts["wasm"], 2);
    CHECK_EQ_INT(counts.size(), 2);
}

static int static_counter = 0;
struct Counter {
    Counter() { static_counter += 1; }
};
static Counter global_counter;  // a global constructor: runs before main, as in C

TEST(global_constructors_ran) { CHECK_EQ_INT(static_counter, 1); }

TEST(lambdas_capture) {
    int base = 10;
    auto add = [base](int x) { return base + x; };
    CHECK_EQ_INT(add(5), 15);
    std::string joined;
    for (auto s : {"a", "b", "c"}) joined += s;
    CHECK_EQ_STR(joined.c_str(), "abc");
}

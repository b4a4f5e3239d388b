// Shapes with virtual dispatch: the C++ code under test. Header-only.
#ifndef CCPP_SHAPES_HPP
#define CCPP_SHAPES_HPP

#include <memory>
#include <string>
#include <vector>

struct Shape {
    virtual ~Shape() = default;
    virtual double area() const = 0;
    virtual std::string name() const = 0;
};

struct Rect : Shape {
    double w, h;
    Rect(double w_, double h_) : w(w_), h(h_) {}
    double area() const override { return w * h; }
    std::string name() const override { return "rect " + std::to_string(int(w)) + "x" + std::to_string(int(h)); }
};

struct Square : Rect {
    explicit Square(double s) : Rect(s, s) {}
    std::string name() const override { return "square " + std::to_string(int(w)); }
};

inline double total_area(const std::vector<std::unique_ptr<Shape>> &shapes) {
    double sum = 0;
    for (const auto &s : shapes) sum += s->area();
    return sum;
}

#endif

//! Sample Zig tests for wasitest's zigtest harness: one per verdict the harness knows.
const std = @import("std");

fn add(a: i32, b: i32) i32 {
    return a + b;
}

test "adds" {
    try std.testing.expectEqual(@as(i32, 3), add(1, 2));
}

test "adds wrongly" {
    try std.testing.expectEqual(@as(i32, 3), add(1, 1));
}

test "skipped" {
    return error.SkipZigTest;
}

test "panics" {
    var x: u8 = 255;
    _ = &x;
    if (x == 255) @panic("boom");
}

test "leaks" {
    const buf = try std.testing.allocator.alloc(u8, 16);
    buf[0] = 1;
}

test "prints" {
    std.debug.print("hello from zig\n", .{});
}

test "logs an error" {
    std.log.err("something went wrong", .{});
}

test add {
    try std.testing.expect(add(2, 2) == 4);
}

test {
    try std.testing.expect(true);
}

const Inner = struct {
    test "nested" {
        try std.testing.expect(add(0, 0) == 0);
    }
};

test {
    _ = Inner;
}

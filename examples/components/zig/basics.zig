//! Zig test blocks, run by Zig's own test runner: as a p1 module and as a p2 component.
const std = @import("std");

test "integer arithmetic wraps where asked" {
    const x: u8 = 250;
    try std.testing.expectEqual(@as(u8, 4), x +% 10);
}

test "sorting a slice" {
    var items = [_]i32{ 5, -1, 3, 0 };
    std.mem.sort(i32, &items, {}, std.sort.asc(i32));
    try std.testing.expectEqualSlices(i32, &.{ -1, 0, 3, 5 }, &items);
}

test "formatting a float" {
    var buffer: [32]u8 = undefined;
    const text = try std.fmt.bufPrint(&buffer, "{d:.3}", .{std.math.pi});
    try std.testing.expectEqualStrings("3.142", text);
}

test "skipped on purpose" {
    return error.SkipZigTest;
}

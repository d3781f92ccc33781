package model

// RopeLen returns the number of positions m's RoPE tables cover now.
func RopeLen(m *Model) int {
	m.ropeTab.mu.Lock()
	defer m.ropeTab.mu.Unlock()
	return m.ropeTab.n
}

// GrowRope builds m's RoPE tables for the positions 0..maxPos.
func GrowRope(m *Model, maxPos int) { m.rope(maxPos) }

package dedup

import (
	"encoding/binary"
	"hash/crc32"
)

// Key kinds: the first byte of a Memory key, so that a message's claim,
// the parts of its reply and its Once key never collide.
const (
	kindHead byte = 'h' // the claim, then the reply or a marker
	kindPart byte = 'p' // followed by a 2-byte part number
	kindOnce byte = 'o'
)

// keyBuf holds a Memory key on the caller's stack: freecache takes keys as
// []byte and keeps none, so building them here costs no allocation.
type keyBuf [3 + maxPlainKey]byte

// build returns the key of kind for key (and part, for kindPart): the kind,
// the part number, then key, or its digest when keyHashed.
func (b *keyBuf) build(kind byte, key string, part int) []byte {
	k := append(b[:0], kind)
	if kind == kindPart {
		k = binary.BigEndian.AppendUint16(k, uint16(part))
	}
	if !keyHashed(key) {
		return append(k, key...)
	}
	return appendDigest(k, key)
}

// headLen is the size of a parted reply's head value: tag, length, CRC-32
// and the number of parts.
const headLen = 1 + 4 + 4 + 2

// doneInParts stores a reply larger than one entry as parts, then the head
// that points to them: a waiter sees the head only once every part is in.
// A part evicted before it is read, or overwritten by a later reply to the
// same key, fails the length or checksum, and the waiter gets ErrNoReply
// rather than someone else's bytes.
func (m *Memory) doneInParts(head []byte, key string, reply []byte) error {
	var kb keyBuf
	size := m.maxKV - len(kb.build(kindPart, key, 0))
	n := (len(reply) + size - 1) / size
	for i := range n {
		part := reply[i*size : min((i+1)*size, len(reply))]
		if err := m.set(kb.build(kindPart, key, i), part); err != nil {
			return err
		}
	}
	var h [headLen]byte
	h[0] = tagChunked
	binary.BigEndian.PutUint32(h[1:], uint32(len(reply)))
	binary.BigEndian.PutUint32(h[5:], crc32.ChecksumIEEE(reply))
	binary.BigEndian.PutUint16(h[9:], uint16(n))
	return m.set(head, h[:])
}

// assemble reads the parts that head points to.
func (m *Memory) assemble(key string, head []byte) ([]byte, error) {
	if len(head) != headLen {
		return nil, ErrNoReply
	}
	size := int(binary.BigEndian.Uint32(head[1:]))
	sum := binary.BigEndian.Uint32(head[5:])
	n := int(binary.BigEndian.Uint16(head[9:]))
	out := make([]byte, 0, size)
	var kb keyBuf
	for i := range n {
		err := m.c.GetFn(kb.build(kindPart, key, i), func(b []byte) error {
			out = append(out, b...)
			return nil
		})
		if err != nil || len(out) > size {
			return nil, ErrNoReply
		}
	}
	if len(out) != size || crc32.ChecksumIEEE(out) != sum {
		return nil, ErrNoReply
	}
	return out, nil
}

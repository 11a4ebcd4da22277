//! Self-describing pushes: the push setup's `push_object_list` sent as the first element of the
//! notification body (DLMS UA 1000-1 "Blue Book" / IEC 62056-6-2, interface class 40 "Push
//! setup", attribute 2).
//!
//! `push_object_list` is an array of capture-object definitions, each
//! `structure { class_id: long-unsigned, logical_name: octet-string[6], attribute_index:
//! integer, data_index: long-unsigned }`, or in the later versions of the class that and two
//! more elements, a restriction (structure) and columns (array), which select entries of a
//! profile (an Energomera push, esphome-libs/dlms_parser `tests/dumps/raw_energomera.log`). A meter whose push setup lists itself (class 40,
//! attribute 2) first sends that list as element 0 of the body, so element k of the body is the
//! attribute that entry k names: the receiver needs no catalogue of the operator's list (seen
//! on Landis+Gyr E450 meters in Cyprus, esphome-libs/dlms_parser
//! `tests/dumps/hdlc_landis_gyr_e450_cyprus*.log`, esphome/esphome PR #16942).
//!
//! [`PushObjectList::parse`] recognises such a first element; [`PushObjectList::entry_for`]
//! maps a body element to its capture object. What each attribute means per class (value,
//! scaler_unit, capture time) is in [`CaptureObject`]'s methods, from the class definitions of
//! the Blue Book: Data (1), Register (3), Extended register (4), Demand register (5), Clock (8),
//! Push setup (40).

use crate::obis::Obis;

use super::axdr::{self, Data};

/// Interface class ids of the Blue Book that a push list's reading needs to know.
pub mod class {
    /// Data.
    pub const DATA: u16 = 1;
    /// Register: 2 value, 3 scaler_unit.
    pub const REGISTER: u16 = 3;
    /// Extended register: 2 value, 3 scaler_unit, 4 status, 5 capture_time.
    pub const EXTENDED_REGISTER: u16 = 4;
    /// Demand register: 2 current_average_value, 3 last_average_value, 4 scaler_unit, …
    pub const DEMAND_REGISTER: u16 = 5;
    /// Clock: 2 time.
    pub const CLOCK: u16 = 8;
    /// Push setup: 2 push_object_list.
    pub const PUSH_SETUP: u16 = 40;
}

/// The value attribute of Data, Register, Extended register and Clock.
pub const VALUE_ATTRIBUTE: i8 = 2;

/// One capture-object definition of a `push_object_list`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CaptureObject {
    /// Interface class id.
    pub class_id: u16,
    /// Logical name (OBIS).
    pub logical_name: Obis,
    /// Attribute index (1 is the logical name; 2 the value for most classes).
    pub attribute: i8,
    /// Data index: 0 the whole attribute, else one element of an array attribute.
    pub data_index: u16,
}

impl CaptureObject {
    /// Parses one `{class, logical name, attribute, data index[, restriction, columns]}`
    /// structure.
    pub fn parse(data: &Data<'_>) -> Option<CaptureObject> {
        match data {
            Data::Structure(items) => match &items.to_slice()[..] {
                [Data::Unsigned16(class_id), ln, Data::Integer8(attribute), Data::Unsigned16(data_index)]
                | [Data::Unsigned16(class_id), ln, Data::Integer8(attribute), Data::Unsigned16(data_index), Data::Structure(_), Data::Array(_)] => {
                    Some(CaptureObject {
                        class_id: *class_id,
                        logical_name: ln.as_obis()?,
                        attribute: *attribute,
                        data_index: *data_index,
                    })
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// The push setup's own list (class 40, attribute 2).
    pub fn is_push_object_list(&self) -> bool {
        self.class_id == class::PUSH_SETUP && self.attribute == 2
    }

    /// The time of a clock object (class 8, attribute 2).
    pub fn is_clock_time(&self) -> bool {
        self.class_id == class::CLOCK && self.attribute == 2
    }

    /// The scaler_unit attribute of a register class (3 and 4: attribute 3; 5: attribute 4).
    pub fn is_scaler_unit(&self) -> bool {
        matches!(
            (self.class_id, self.attribute),
            (class::REGISTER | class::EXTENDED_REGISTER, 3) | (class::DEMAND_REGISTER, 4)
        )
    }

    /// The capture_time of an extended register (attribute 5).
    pub fn is_capture_time(&self) -> bool {
        self.class_id == class::EXTENDED_REGISTER && self.attribute == 5
    }

    /// Whether the object's scaler_unit scales this attribute: the value of a register or an
    /// extended register, the current and last average values of a demand register.
    pub fn is_scaled(&self) -> bool {
        matches!(
            (self.class_id, self.attribute),
            (class::REGISTER | class::EXTENDED_REGISTER, 2) | (class::DEMAND_REGISTER, 2 | 3)
        )
    }

    /// Whether `other` is an attribute of the same object (same class and logical name).
    pub fn same_object(&self, other: &CaptureObject) -> bool {
        self.class_id == other.class_id && self.logical_name == other.logical_name
    }
}

/// A `push_object_list` sent as the first element of a push.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushObjectList {
    /// The capture objects in order.
    pub objects: Vec<CaptureObject>,
    /// Whether the list names itself first (element k of the body is entry k); otherwise it
    /// names the elements after it (element k is entry k − 1).
    pub describes_itself: bool,
}

impl PushObjectList {
    /// The list, if the first of `elements` is a non-empty array of capture-object
    /// definitions. A list that names itself first maps element k to entry k, one that does
    /// not maps element k to entry k − 1.
    pub fn parse(elements: &[Data<'_>]) -> Option<PushObjectList> {
        let Some(Data::Array(items)) = elements.first() else {
            return None;
        };
        if items.is_empty() {
            return None;
        }
        let objects = items
            .iter()
            .map(|item| CaptureObject::parse(&item))
            .collect::<Option<Vec<_>>>()?;
        let describes_itself = objects[0].is_push_object_list();
        Some(PushObjectList {
            objects,
            describes_itself,
        })
    }

    /// The number of body elements the list names (itself included).
    pub fn described_elements(&self) -> usize {
        self.objects.len() + usize::from(!self.describes_itself)
    }

    /// The capture object of body element `index` (none for element 0 of a list that does not
    /// name itself, or beyond the list).
    pub fn entry_for(&self, index: usize) -> Option<&CaptureObject> {
        if self.describes_itself {
            self.objects.get(index)
        } else {
            self.objects.get(index.checked_sub(1)?)
        }
    }
}

/// A body in the attribute-descriptor form: `02 02 16 <e> 01 <n>` then n times `02 02 <class
/// u16> <logical name 6 bytes> <attribute i8> <Data>` — each value preceded by its COSEM
/// attribute descriptor *without* A-XDR tags, so the body is no COSEM Data (Sagemcom XT211
/// meters of ČEZ and EG.D in Czechia: esphome-libs/dlms_parser `tests/dumps/raw_sagecom_xt211.log`,
/// `raw_egd_example.log`). Read as a self-describing push: returns the body as a structure whose
/// first element is the descriptors as a push_object_list (not naming itself) followed by the
/// values, the offset after it, and the leading enum `e`.
pub fn parse_descriptor_body(bytes: &[u8], at: usize) -> Option<(Data<'_>, usize, u8)> {
    const HEAD: usize = 4;
    let head = bytes.get(at..at + HEAD)?;
    let [0x02, 0x02, 0x16, lead] = *head else {
        return None;
    };
    if bytes.get(at + HEAD) != Some(&0x01) {
        return None;
    }
    let (count, mut pos) = axdr::read_length(bytes, at + HEAD + 1).ok()?;
    // Each entry takes at least 12 bytes: never allocate for more than can be there.
    if count == 0 || count > bytes.len().saturating_sub(pos) / 12 {
        return None;
    }
    let mut captures = Vec::with_capacity(count);
    let mut elements = Vec::with_capacity(count + 1);
    for _ in 0..count {
        let entry = bytes.get(pos..pos + 11)?;
        if entry[..2] != [0x02, 0x02] {
            return None;
        }
        let class = u16::from_be_bytes([entry[2], entry[3]]);
        let attribute = i8::from_le_bytes([entry[10]]);
        captures.push(Data::Structure(
            [
                Data::Unsigned16(class),
                Data::OctetString(bytes.get(pos + 4..pos + 10)?),
                Data::Integer8(attribute),
                Data::Unsigned16(0),
            ]
            .into(),
        ));
        let (value, next) = Data::parse_at(bytes, pos + 11).ok()?;
        elements.push(value);
        pos = next;
    }
    elements.insert(0, Data::Array(captures.into()));
    Some((Data::Structure(elements.into()), pos, lead))
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::test_hex::unhex;

    fn elements(hex: &str) -> Vec<u8> {
        unhex(hex)
    }

    #[test]
    fn test_list_naming_itself() {
        // {40, 0-8:25.9.0, 2, 0}, {8, 0-0:1.0.0, 2, 0} (L+G E450 Cyprus), then two values.
        let bytes = elements(
            "0203 0102 020412002809060008190900FF0F021200 00 020412000809060000010000FF0F02120000 0900 0600000001",
        );
        let (body, _) = Data::parse_at(&bytes, 0).expect("valid");
        let list =
            PushObjectList::parse(&body.elements().expect("structure").to_slice()).expect("list");
        assert!(list.describes_itself);
        assert_eq!(list.objects.len(), 2);
        assert!(list
            .entry_for(0)
            .is_some_and(CaptureObject::is_push_object_list));
        assert!(list.entry_for(1).is_some_and(CaptureObject::is_clock_time));
        assert_eq!(list.entry_for(2), None);
        assert_eq!(list.described_elements(), 2);
    }

    #[test]
    fn test_list_not_naming_itself() {
        let bytes = elements("0202 0101 020412000309060100010800FF0F02120000 0600000001");
        let (body, _) = Data::parse_at(&bytes, 0).expect("valid");
        let list =
            PushObjectList::parse(&body.elements().expect("structure").to_slice()).expect("list");
        assert!(!list.describes_itself);
        assert_eq!(list.entry_for(0), None);
        let reg = list.entry_for(1).expect("entry");
        assert_eq!(reg.logical_name, Obis::new(1, 0, 1, 8, 0, 255));
        assert!(reg.is_scaled() && !reg.is_scaler_unit());
        assert_eq!(list.described_elements(), 2);
    }

    #[test]
    fn test_restriction_and_columns() {
        // Energomera: {40, 0-0:25.9.0, 2, 0, {enum 0, null}, array(0)}.
        let bytes = elements("0206 12 0028 09 060000190900FF 0F 02 12 0000 0202 1600 00 0100");
        let (entry, _) = Data::parse_at(&bytes, 0).expect("valid");
        let co = CaptureObject::parse(&entry).expect("capture object");
        assert!(co.is_push_object_list());
        assert_eq!(co.logical_name, Obis::new(0, 0, 25, 9, 0, 255));
        // Five elements, or a sixth that is no array: not a capture object.
        let bytes = elements("0205 12 0028 09 060000190900FF 0F 02 12 0000 0202 1600 00");
        let (entry, _) = Data::parse_at(&bytes, 0).expect("valid");
        assert_eq!(CaptureObject::parse(&entry), None);
    }

    #[test]
    fn test_descriptor_body() {
        // {enum 1, array(2): {[1, 0-0:96.1.1, 2], "51"}, {[70, 0-0:96.3.10, 3], enum 1}}.
        let bytes = elements(
            "0202 1601 0102 0202 0001 0000600101FF 02 0902 3531 0202 0046 000060030AFF 03 1601",
        );
        let (body, end, lead) = parse_descriptor_body(&bytes, 0).expect("descriptor form");
        assert_eq!((end, lead), (bytes.len(), 1));
        let elements = body.elements().expect("structure").to_slice();
        assert_eq!(elements.len(), 3);
        let list = PushObjectList::parse(&elements).expect("list");
        assert!(!list.describes_itself);
        let control = list.entry_for(2).expect("entry");
        assert_eq!((control.class_id, control.attribute), (70, 3));
        assert_eq!(elements[2], Data::Enum(1));
        // Cut short, a tagged element where a descriptor belongs, or a count that cannot
        // fit: not this form.
        assert_eq!(parse_descriptor_body(&bytes[..bytes.len() - 1], 0), None);
        assert_eq!(
            parse_descriptor_body(&elements_bytes("0202 1601 0101 0203 0001"), 0),
            None
        );
        assert_eq!(
            parse_descriptor_body(&elements_bytes("0202 1601 0182FFFF 0202"), 0),
            None
        );
    }

    fn elements_bytes(hex: &str) -> Vec<u8> {
        unhex(hex)
    }

    #[test]
    fn test_not_a_list() {
        // An array of {OBIS, value} structures (Aidon) is no push_object_list.
        let bytes = elements("0101 0202 0906 0100010700FF 0600000001");
        let (body, _) = Data::parse_at(&bytes, 0).expect("valid");
        assert_eq!(PushObjectList::parse(std::slice::from_ref(&body)), None);
        assert_eq!(PushObjectList::parse(&[]), None);
        assert_eq!(PushObjectList::parse(&[Data::Array([].into())]), None);
    }

    #[test]
    fn test_attribute_roles() {
        let o = |class_id, attribute| CaptureObject {
            class_id,
            logical_name: Obis::new(1, 0, 1, 8, 0, 255),
            attribute,
            data_index: 0,
        };
        assert!(o(3, 3).is_scaler_unit() && o(4, 3).is_scaler_unit() && o(5, 4).is_scaler_unit());
        assert!(!o(5, 3).is_scaler_unit() && !o(1, 3).is_scaler_unit());
        assert!(o(5, 3).is_scaled() && !o(70, 3).is_scaled());
        assert!(o(4, 5).is_capture_time() && !o(3, 5).is_capture_time());
        assert!(o(3, 2).same_object(&o(3, 3)) && !o(3, 2).same_object(&o(4, 2)));
    }
}

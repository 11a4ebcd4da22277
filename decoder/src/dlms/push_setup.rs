//! Self-describing pushes: the push setup's `push_object_list` sent as the first element of the
//! notification body (DLMS UA 1000-1 "Blue Book" / IEC 62056-6-2, interface class 40 "Push
//! setup", attribute 2).
//!
//! `push_object_list` is an array of capture-object definitions, each
//! `structure { class_id: long-unsigned, logical_name: octet-string[6], attribute_index:
//! integer, data_index: long-unsigned }`. A meter whose push setup lists itself (class 40,
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

use super::axdr::Data;

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
    /// Parses one `{class, logical name, attribute, data index}` structure.
    pub fn parse(data: &Data<'_>) -> Option<CaptureObject> {
        match data {
            Data::Structure(items) => match items.as_slice() {
                [Data::Unsigned16(class_id), ln, Data::Integer8(attribute), Data::Unsigned16(data_index)] => {
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
            .map(CaptureObject::parse)
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
        let list = PushObjectList::parse(body.elements().expect("structure")).expect("list");
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
        let list = PushObjectList::parse(body.elements().expect("structure")).expect("list");
        assert!(!list.describes_itself);
        assert_eq!(list.entry_for(0), None);
        let reg = list.entry_for(1).expect("entry");
        assert_eq!(reg.logical_name, Obis::new(1, 0, 1, 8, 0, 255));
        assert!(reg.is_scaled() && !reg.is_scaler_unit());
        assert_eq!(list.described_elements(), 2);
    }

    #[test]
    fn test_not_a_list() {
        // An array of {OBIS, value} structures (Aidon) is no push_object_list.
        let bytes = elements("0101 0202 0906 0100010700FF 0600000001");
        let (body, _) = Data::parse_at(&bytes, 0).expect("valid");
        assert_eq!(PushObjectList::parse(std::slice::from_ref(&body)), None);
        assert_eq!(PushObjectList::parse(&[]), None);
        assert_eq!(PushObjectList::parse(&[Data::Array(vec![])]), None);
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

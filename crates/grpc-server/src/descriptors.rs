//! The methods a server serves, read from the descriptor sets it is given:
//! the telemetry layer names each call by them when it starts, and records
//! calls to anything else as `_OTHER`.

use prost::Message as _;
use prost_types::FileDescriptorSet;

/// The full names (`package.Service/Method`) of the methods of `services`
/// found in the encoded `descriptor_sets`, and the services that none of the
/// sets describes.
pub(crate) fn served_methods(
    services: &[&'static str],
    descriptor_sets: &[&'static [u8]],
) -> (Vec<String>, Vec<&'static str>) {
    let mut methods = Vec::new();
    let mut described = Vec::new();
    for set in descriptor_sets {
        // A set that does not decode describes nothing; reflection, which
        // reads the same bytes, reports it as an error at start-up.
        let Ok(set) = FileDescriptorSet::decode(*set) else {
            continue;
        };
        for file in &set.file {
            for service in &file.service {
                let full_name = match file.package() {
                    "" => service.name().to_owned(),
                    package => format!("{package}.{}", service.name()),
                };
                let Some(served) = services.iter().find(|name| **name == full_name) else {
                    continue;
                };
                if described.contains(served) {
                    continue;
                }
                described.push(*served);
                methods.extend(
                    service
                        .method
                        .iter()
                        .map(|method| format!("{full_name}/{}", method.name())),
                );
            }
        }
    }
    let undescribed = services
        .iter()
        .filter(|name| !described.contains(name))
        .copied()
        .collect();
    (methods, undescribed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECOMMENDATIONS: &str = "recommendations.v1.RecommendationsService";

    #[test]
    fn the_methods_of_the_served_services_are_named_in_full() {
        let (methods, undescribed) =
            served_methods(&[RECOMMENDATIONS], &[proto::FILE_DESCRIPTOR_SET]);
        assert_eq!(methods, [format!("{RECOMMENDATIONS}/Recommend")]);
        assert!(undescribed.is_empty());
    }

    #[test]
    fn services_no_set_describes_are_named_and_others_in_a_set_left_out() {
        let (methods, undescribed) = served_methods(
            &["hello.v1.Greeter"],
            &[proto::FILE_DESCRIPTOR_SET, b"not a descriptor set"],
        );
        assert!(methods.is_empty(), "{methods:?}");
        assert_eq!(undescribed, ["hello.v1.Greeter"]);
    }
}
